/**
 * The campaign admin at the peak: reads the conversations overview from the start of the join rush,
 * and once everybody is in, pauses and resumes, reassigns (an idle texter's conversations to two who
 * are working; unassigned ones to somebody) and lists senders — one operation every `everyMs`, each
 * timed. Runs in the orchestrator on its own small pool through PgBouncer, like an admin's web
 * request would on any app server.
 */
import type { Engine } from "../../src/index.js";
import type { TexterPlan } from "./config.js";
import { Histogram } from "./stats.js";

export interface AdminRun {
  readonly histograms: Map<string, Histogram>;
  readonly errors: Map<string, number>;
  readonly counts: Map<string, number>;
  /** Admin writes (pause to resume, reassignments): [start, end] epoch ms. */
  readonly writes: [number, number][];
}

export async function runAdmin(options: {
  engine: Engine;
  campaigns: { A: string; B: string };
  texters: readonly TexterPlan[];
  /** Whether writes may begin (after the join rush). */
  writesAllowed: () => boolean;
  /** Stop issuing operations at, epoch ms. */
  until: number;
  everyMs: number;
  stopped: () => boolean;
}): Promise<AdminRun> {
  const { engine, campaigns } = options;
  const run: AdminRun = { histograms: new Map(), errors: new Map(), counts: new Map(), writes: [] };
  const timed = async (op: string, body: () => Promise<unknown>) => {
    const start = performance.now();
    try {
      const result = await body();
      return result;
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message?.slice(0, 60);
      run.errors.set(`${op}:${code}`, (run.errors.get(`${op}:${code}`) ?? 0) + 1);
      return undefined;
    } finally {
      const ms = performance.now() - start;
      let h = run.histograms.get(op);
      if (h === undefined) run.histograms.set(op, (h = new Histogram()));
      h.add(ms);
    }
  };
  const working = (c: "A" | "B") => options.texters.filter((t) => t.campaign === c && !t.idle).map((t) => t.id);
  const idle = options.texters.filter((t) => t.campaign === "A" && t.idle).map((t) => t.id);
  const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)]!;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const actorId = "admin";
  /** A pause for 1.5 s (texters' requests are refused meanwhile), then resume — again until it succeeds. */
  const pauseAndResume = async (campaignId: string) => {
    if ((await timed("pauseCampaign", () => engine.pauseCampaign({ actorId, campaignId }))) === undefined) return;
    await sleep(1500);
    for (let attempt = 0; attempt < 20; attempt++) {
      if ((await timed("resumeCampaign", () => engine.resumeCampaign({ actorId, campaignId }))) !== undefined) return;
      await sleep(500);
    }
    throw new Error(`could not resume campaign ${campaignId}`);
  };
  let step = 0;
  let idleTurn = 0;
  while (!options.stopped() && Date.now() < options.until) {
    const began = Date.now();
    const writing = options.writesAllowed() && [1, 2, 4, 6].includes(step % 7);
    if (!options.writesAllowed()) {
      // During the join rush: the admin watches the overview fill up.
      await timed("getOverview", () => engine.getOverview({ actorId, campaignId: step % 2 === 0 ? campaigns.A : campaigns.B }));
    } else {
      switch (step % 7) {
        case 0:
          await timed("getOverview", () => engine.getOverview({ actorId, campaignId: campaigns.A }));
          break;
        case 1:
          await pauseAndResume(campaigns.A);
          break;
        case 2: {
          const to = [pick(working("A")), pick(working("A"))];
          const from = idle.length > 0 ? idle[idleTurn++ % idle.length]! : null;
          const result = (await timed("reassignSome", () =>
            engine.reassignSome({ actorId, campaignId: campaigns.A, from: from === null ? "unassigned" : { senderIds: [from] }, filter: "any", count: 25, to }),
          )) as { moved?: number } | undefined;
          if (result !== undefined && from !== null && result.moved === 0) {
            await timed("reassignSome", () => engine.reassignSome({ actorId, campaignId: campaigns.A, from: "unassigned", filter: "not_started", count: 25, to }));
          }
          break;
        }
        case 3:
          await timed("getOverview", () => engine.getOverview({ actorId, campaignId: campaigns.B }));
          break;
        case 4:
          if (working("B").length > 0) {
            await timed("reassignSome", () => engine.reassignSome({ actorId, campaignId: campaigns.B, from: "unassigned", filter: "any", count: 10, to: [pick(working("B"))] }));
          }
          break;
        case 5:
          await timed("listSenders", () => engine.listSenders({ actorId, campaignId: campaigns.A, limit: 100 }));
          break;
        case 6:
          await pauseAndResume(campaigns.B);
          break;
      }
    }
    if (writing) run.writes.push([began, Date.now()]);
    step++;
    run.counts.set("operations", (run.counts.get("operations") ?? 0) + 1);
    await sleep(Math.max(0, options.everyMs - (Date.now() - began)));
  }
  return run;
}
