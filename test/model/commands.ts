/**
 * The commands fast-check draws, the fault classes that gate them, and the run
 * of one command list against a fresh world.
 */
import fc from 'fast-check';
import type { Transport } from './transports.js';
import { createWorld, type Answer, type ModelSettings, type World } from './world.js';

/**
 * Fault classes: groups of commands and settings that the model can switch off.
 * The ones today's core is known to break name the hole of issue 14 they find.
 */
export const FAULTS = {
  leeway: { finds: 'hole 1 of issue 14', what: 'a leeway or a need not shorter than the token lifetime (30 s tokens, needs up to 3700 s)' },
  reorder: { finds: 'hole 2 of issue 14', what: 'messages reordered across senders, dropped and duplicated (off: delivered in the order posted, only delayed)' },
  clear: { finds: 'hole 3 of issue 14', what: 'storage cleared while windows are open' },
  'retry-after': { finds: 'hole 4 of issue 14', what: 'absurd Retry-After values: one year, 400 digits, an HTTP date in 9999' },
  'clock-jump': { finds: 'hole 5 of issue 14', what: 'the wall clock jumping back or forward (hours, 40 days)' },
  sleep: { finds: 'finding A (new, not listed in issue 14; see docs/model-based-tests.md)', what: 'time passing while a store operation is in flight (a machine asleep mid-write)' },
} as const;

export type Fault = keyof typeof FAULTS;
export const ALL_FAULTS = Object.keys(FAULTS) as Fault[];

export type Command = fc.AsyncCommand<World, World>;

abstract class Step implements Command {
  check(_world: World): boolean {
    return true;
  }
  async run(world: World): Promise<void> {
    world.check(); // what happened since the previous step, interleaved by the scheduler
    world.nextStep(this.toString());
    this.act(world);
    world.check();
  }
  abstract act(world: World): void;
  abstract toString(): string;
}

/** A window index, taken modulo the number of windows of the run. */
const slotOf = (world: World, index: number): number => index % world.windows.length;
const open = (world: World, index: number): boolean => !world.windows[slotOf(world, index)]!.closed;

export class GetToken extends Step {
  constructor(
    readonly window: number,
    readonly need: number | undefined,
    readonly force: boolean,
  ) {
    super();
  }
  /** A frozen page runs no code: nobody calls in it. */
  override check(world: World): boolean {
    return open(world, this.window) && !world.windows[slotOf(world, this.window)]!.frozen;
  }
  act(world: World): void {
    const slot = slotOf(world, this.window);
    const options = { ...(this.need !== undefined && { minValiditySeconds: this.need }), ...(this.force && { forceRefresh: true }) };
    world.call(slot, this.toString(), this.need ?? world.settings.leewaySeconds, world.windows[slot]!.core.getAccessToken(options), this.force);
  }
  toString(): string {
    return `getAccessToken(w${this.window}${this.need !== undefined ? `, need ${this.need} s` : ''}${this.force ? ', forced' : ''})`;
  }
}

/** What the app does to one window. */
const WINDOW_ACTIONS = {
  signOut: (world: World, slot: number) => world.call(slot, 'signOut', undefined, world.windows[slot]!.core.signOut()),
  setSession: (world: World, slot: number) => world.signIn(slot),
  close: (world: World, slot: number) => world.close(slot),
  reopen: (world: World, slot: number) => world.open(slot),
};

export class WindowAction extends Step {
  constructor(
    readonly action: keyof typeof WINDOW_ACTIONS,
    readonly window: number,
  ) {
    super();
  }
  /** A closed window can only be reopened; an open one anything else. */
  override check(world: World): boolean {
    return open(world, this.window) !== (this.action === 'reopen');
  }
  act(world: World): void {
    WINDOW_ACTIONS[this.action](world, slotOf(world, this.window));
  }
  toString(): string {
    return `${this.action}(w${this.window})`;
  }
}

/** Page Lifecycle: freezes an open window (its timers stop, its locks and role stay held) or thaws a frozen one. */
export class Freeze extends Step {
  constructor(
    readonly window: number,
    readonly frozen: boolean,
  ) {
    super();
  }
  override check(world: World): boolean {
    const window = world.windows[slotOf(world, this.window)]!;
    return !window.closed && window.frozen !== this.frozen;
  }
  act(world: World): void {
    world.freeze(slotOf(world, this.window), this.frozen);
  }
  toString(): string {
    return `${this.frozen ? 'freeze' : 'thaw'}(w${this.window})`;
  }
}

export class Advance extends Step {
  constructor(
    readonly ms: number,
    readonly sleep: boolean,
  ) {
    super();
  }
  act(world: World): void {
    if (!this.sleep && world.storeOps > 0) return void world.log.push('  (time stands still: store operations in flight and fault class sleep off)');
    world.real.advance(this.ms);
  }
  toString(): string {
    return `advance(${this.ms} ms)`;
  }
}

export class Jump extends Step {
  constructor(readonly ms: number) {
    super();
  }
  act(world: World): void {
    world.jump(this.ms);
  }
  toString(): string {
    return `clockJump(${this.ms} ms)`;
  }
}

export class Clear extends Step {
  act(world: World): void {
    world.clearStorage();
  }
  toString(): string {
    return 'clearStorage()';
  }
}

export class Deliver extends Step {
  constructor(
    readonly index: number,
    readonly how: 'deliver' | 'drop' | 'duplicate',
  ) {
    super();
  }
  override check(world: World): boolean {
    return world.deliveries.length > 0;
  }
  act(world: World): void {
    const index = this.index % world.deliveries.length;
    if (this.how === 'drop') world.deliveries.splice(index, 1);
    else world.deliver(index, this.how === 'duplicate');
  }
  toString(): string {
    return `${this.how}(message ${this.index})`;
  }
}

export class Respond extends Step {
  constructor(
    readonly index: number,
    readonly answer: Answer,
  ) {
    super();
  }
  override check(world: World): boolean {
    return world.pending().length > 0;
  }
  act(world: World): void {
    const pending = world.pending();
    world.answer(pending[this.index % pending.length]!, this.answer);
  }
  toString(): string {
    return `answer(request ${this.index}, ${JSON.stringify(this.answer)})`;
  }
}

export function settingsArbitrary(faults: ReadonlySet<Fault>, transport: Transport = 'broadcast'): fc.Arbitrary<ModelSettings> {
  return fc.record({
    transport: fc.constant(transport),
    windows: fc.integer({ min: 1, max: 6 }),
    profile: fc.constantFrom('oidc', 'grace', 'non-rotating'),
    // Off, the leeway (60 s) and every need stay well under the token lifetime.
    accessTtlSeconds: faults.has('leeway') ? fc.constantFrom(30, 300, 3600) : fc.constantFrom(300, 3600),
    refreshTtlSeconds: fc.constantFrom(undefined, 30 * 86_400),
    leewaySeconds: faults.has('leeway') ? fc.constantFrom(0, 60, 120) : fc.constantFrom(0, 60),
    attempts: fc.integer({ min: 1, max: 3 }),
    autoRefresh: fc.boolean(),
  });
}

export function commandsArbitrary(faults: ReadonlySet<Fault>, maxCommands = 40, replayPath?: string): fc.Arbitrary<Iterable<Command>> {
  const window = fc.nat({ max: 5 });
  const needs = faults.has('leeway') ? [0, 10, 30, 59, 60, 120, 299, 3599, 3700] : [0, 10, 30, 60, 120];
  const retryAfter = [undefined, '1', '30', '60', ...(faults.has('retry-after') ? ['31536000', '9'.repeat(400), 'Fri, 31 Dec 9999 23:59:59 GMT'] : [])];
  const answer: fc.Arbitrary<Answer> = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ kind: 'success' } as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'lost' } as const) },
    { weight: 2, arbitrary: fc.constantFrom(...retryAfter).map((value) => ({ kind: '5xx', retryAfter: value }) as const) },
    { weight: 1, arbitrary: fc.constant({ kind: 'invalid_grant' } as const) },
    { weight: 1, arbitrary: fc.boolean().map((json) => ({ kind: 'malformed', json }) as const) },
  );
  const delivery = faults.has('reorder') ? fc.constantFrom<'deliver' | 'drop' | 'duplicate'>('deliver', 'deliver', 'deliver', 'drop', 'duplicate') : fc.constant('deliver' as const);
  const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
  const command: fc.Arbitrary<Command> = fc.oneof(
    weighted(8, fc.tuple(window, fc.option(fc.constantFrom(...needs), { freq: 2 }), fc.boolean()).map(([w, need, force]) => new GetToken(w, need ?? undefined, force))),
    weighted(6, fc.tuple(fc.nat({ max: 5 }), answer).map(([i, a]) => new Respond(i, a))),
    weighted(4, fc.tuple(fc.nat({ max: 20 }), delivery).map(([i, how]) => new Deliver(faults.has('reorder') ? i : 0, how))),
    weighted(4, fc.constantFrom(1_000, 10_001, 31_000, 61_000, 301_000, 3_600_000, 86_400_000).map((ms) => new Advance(ms, faults.has('sleep')))),
    weighted(4, fc.tuple(fc.constantFrom('signOut', 'setSession', 'close', 'reopen'), window).map(([action, w]) => new WindowAction(action, w))),
    weighted(2, fc.tuple(window, fc.boolean()).map(([w, frozen]) => new Freeze(w, frozen))),
    ...(faults.has('clear') ? [weighted(1, fc.constant(new Clear()))] : []),
    ...(faults.has('clock-jump') ? [weighted(1, fc.constantFrom(-3_600_000, -60_000, 3_600_000, 40 * 86_400_000, -40 * 86_400_000).map((ms) => new Jump(ms)))] : []),
  );
  return fc.commands([command], { maxCommands, size: 'max', ...(replayPath !== undefined && { replayPath }) });
}

/** One run: a world of `settings`, signed in by window 0, the commands interleaved by `scheduler`, then quiescence. */
export async function runModel(settings: ModelSettings, scheduler: fc.Scheduler, commands: Iterable<Command>): Promise<Record<string, number>> {
  const world = createWorld(settings, scheduler);
  const onUnhandled = (reason: unknown): void => {
    world.log.push(`unhandled rejection: ${String(reason)}`);
    world.unhandled(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  try {
    await fc.scheduledModelRun(
      scheduler,
      () => {
        for (let slot = 0; slot < settings.windows; slot++) world.open(slot);
        world.signIn(0);
        return { model: world, real: world };
      },
      commands,
    );
    await world.quiesce();
    return world.coverage;
  } finally {
    process.off('unhandledRejection', onUnhandled);
    for (const window of world.windows) window.core.close();
  }
}
