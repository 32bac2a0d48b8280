/**
 * The one helper every model-based command is built with (one command per file, as in fast-check's
 * `examples/004-stateMachine`): a command is its parameters, a label, and one step — how the model
 * predicts it and how the engine runs it. The fast-check boilerplate (constructor, `check`, `run`,
 * `toString`) lives here once.
 * @module
 */
import type * as fc from "fast-check";
import type { Expected } from "../model-types.js";
import { type ModelWorld, type RealWorld, runStep } from "../world.js";

/** One step of a command: the model's prediction, the engine call, and how to compare them (see `runStep`). */
export interface Step<T, E> {
  /** The model's expectation (it may change the model). `now` is the step's clock. */
  predict(now: number): Expected<E>;
  /** The engine call. */
  call(): Promise<T>;
  /** The refusal reason in a returned value, or `null` for a success (requests and joins). */
  refusal?(value: T): string | null;
  /** The part of a success the model predicts. */
  project(value: T): E;
  /** Whether a success must record events (`null`: not checked); a function decides from the expected value. */
  changesOnSuccess?: boolean | null | ((expected: E) => boolean | null);
}

/** A model-based command with its parameters. */
export interface WorldCommand<P> extends fc.AsyncCommand<ModelWorld, RealWorld> {
  /** What the command was generated with. */
  readonly params: P;
}

/** A step whose value types are checked where it is built ({@link step}). */
export type AnyStep = Step<any, any>;

/** Build a step: types the engine's value (`call`) once for `refusal` and `project`. */
export function step<T, E>(s: Step<T, E>): Step<T, E> {
  return s;
}

/** How a command is defined: its label and its step. */
export interface CommandSpec<P> {
  /** How it prints in a counterexample. */
  label(params: P): string;
  /**
   * Its step, given the worlds and — for a command with a `campaign` parameter (an index) — that
   * campaign's id. Async when it must look something up first (e.g. a conversation id).
   */
  step(params: P, model: ModelWorld, real: RealWorld, campaignId: string): AnyStep | Promise<AnyStep>;
}

/** Build a command class from its spec: `new Command(params)` is a fast-check `AsyncCommand`. */
export function defineCommand<P>(spec: CommandSpec<P>): new (params: P) => WorldCommand<P> {
  return class implements WorldCommand<P> {
    constructor(readonly params: P) {}
    check(): boolean {
      return true;
    }
    async run(model: ModelWorld, real: RealWorld): Promise<void> {
      const index = (this.params as { campaign?: unknown }).campaign;
      const campaignId = typeof index === "number" ? real.campaignIds[index]! : "";
      await runStep(model, real, { label: this.toString(), ...(await spec.step(this.params, model, real, campaignId)) });
    }
    toString(): string {
      return spec.label(this.params);
    }
  };
}
