/**
 * A FAKE SMS provider: it "sends" by logging, and — to make the demo lively — some contacts answer a
 * few seconds later by posting to our inbound webhook over HTTP, the way a real provider (Twilio,
 * Bandwidth, …) calls yours. Replace it with your provider's client; keep the webhook.
 */
import { randomUUID } from "node:crypto";

export interface InboundSms {
  /** The provider's message id: the same on every delivery of one message. */
  readonly messageId: string;
  /** Which campaign's number was texted. A real provider names the number; map it to a campaign. */
  readonly campaignId: string;
  /** The contact. */
  readonly from: string;
  readonly text: string;
}

const ANSWERS = ["Yes, I'll vote!", "Where is my polling place?", "Who is this?", "Already voted", "STOP", "maybe", "What time do polls close?"];

export function createFakeSms(options: { webhookUrl: string; webhookToken: string; replyRate: number; delayMs: number }) {
  /** Post an inbound message to the webhook, as the provider would (and retries would, with the same id). */
  async function deliver(message: InboundSms): Promise<unknown> {
    const res = await fetch(options.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json", "x-webhook-token": options.webhookToken },
      body: JSON.stringify(message),
    });
    return res.json();
  }

  return {
    deliver,
    /** Send a text. Here: log it, and maybe have the contact answer in 2–8 s. */
    async send(campaignId: string, to: string, text: string): Promise<{ messageId: string }> {
      if (options.delayMs > 0) await new Promise((r) => setTimeout(r, options.delayMs));
      console.log(`[sms] → ${to}: ${text.length > 60 ? `${text.slice(0, 57)}…` : text}`);
      if (Math.random() < options.replyRate) {
        const text = ANSWERS[Math.floor(Math.random() * ANSWERS.length)]!;
        setTimeout(() => void deliver({ messageId: randomUUID(), campaignId, from: to, text }).catch(() => undefined), 2000 + Math.random() * 6000).unref();
      }
      return { messageId: randomUUID() };
    },
  };
}

export type FakeSms = ReturnType<typeof createFakeSms>;
