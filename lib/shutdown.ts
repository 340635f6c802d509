/**
 * Graceful shutdown. On SIGTERM or SIGINT a process:
 * 1. drains: every registered drainer (each HTTP server started by `startHttpServer`) stops accepting
 *    connections and lets in-flight requests finish, all at once, bounded by one deadline
 *    (`drainMs`, default 10 s) after which remaining connections are cut;
 * 2. runs the cleanup hooks of `onShutdown` one at a time in reverse order of registration (what was
 *    opened last closes first), bounded by `hookTimeoutMs` in total;
 * 3. exits 0, or 1 if a hook failed or timed out.
 * A second signal while this runs exits 1 at once.
 *
 * The process-wide coordinator is `processShutdown`; `onShutdown` and `installSignalHandlers` act on
 * it. Tests and embedders can create their own `ShutdownCoordinator`.
 */
import { createLogger, type Logger } from "./log.ts";

/** A cleanup step: close a store, flush a log, leave a cluster. */
export type ShutdownHook = () => void | Promise<void>;

/** Stops accepting work and resolves once in-flight work is done or `deadlineMs` has passed. */
export type Drainer = (deadlineMs: number) => Promise<void>;

/** Options of a coordinator; all optional. */
export interface ShutdownOptions {
  /** Bound on draining in-flight requests, in ms. Default 10 000. */
  drainMs?: number;
  /** Bound on running all cleanup hooks, in ms. Default 10 000. */
  hookTimeoutMs?: number;
  /** Where progress is logged. Default a logger for component "shutdown". */
  logger?: Logger;
  /** How the process ends; tests replace it. Default `process.exit`. */
  exit?: (code: number) => void;
}

/** Where a coordinator is: serving, shutting down, or done. */
export type ShutdownState = "running" | "shutting-down" | "stopped";

const timeout = (ms: number) => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
};

/** Runs drainers then hooks, once; see the module comment for the sequence. */
export class ShutdownCoordinator {
  private readonly hooks: { hook: ShutdownHook; name: string }[] = [];
  private readonly drainers = new Set<Drainer>();
  private running: Promise<number> | undefined;
  private finished = false;
  private options: Required<ShutdownOptions>;

  constructor(options: ShutdownOptions = {}) {
    this.options = {
      drainMs: options.drainMs ?? 10_000,
      hookTimeoutMs: options.hookTimeoutMs ?? 10_000,
      logger: options.logger ?? createLogger("shutdown"),
      exit: options.exit ?? ((code) => process.exit(code)),
    };
  }

  /** Changes the options given to the constructor (only those passed). */
  configure(options: ShutdownOptions): void {
    for (const [k, v] of Object.entries(options)) if (v !== undefined) Object.assign(this.options, { [k]: v });
  }

  /** `running` until `run` starts, `shutting-down` while it runs, `stopped` after. */
  get state(): ShutdownState {
    return this.running === undefined ? "running" : this.finished ? "stopped" : "shutting-down";
  }

  /**
   * Registers a cleanup hook, run after draining in reverse order of registration. A hook that
   * throws is logged and the others still run. Returns a function that unregisters it.
   */
  onShutdown(hook: ShutdownHook, name = hook.name || "hook"): () => void {
    const entry = { hook, name };
    this.hooks.push(entry);
    return () => {
      const i = this.hooks.indexOf(entry);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Registers a drainer (what an HTTP server does on stop). Returns a function that unregisters it. */
  onDrain(drainer: Drainer): () => void {
    this.drainers.add(drainer);
    return () => this.drainers.delete(drainer);
  }

  /**
   * Drains, then runs the hooks; resolves to the exit code (0, or 1 if a hook failed or the hooks
   * overran `hookTimeoutMs`). Never rejects. Calling it again returns the same promise.
   */
  run(reason: string): Promise<number> {
    this.running ??= this.sequence(reason).finally(() => {
      this.finished = true;
    });
    return this.running;
  }

  private async sequence(reason: string): Promise<number> {
    const { logger, drainMs, hookTimeoutMs } = this.options;
    const started = performance.now();
    logger.info("shutting down", { reason, drainers: this.drainers.size, hooks: this.hooks.length, drainMs });

    const drained = Promise.allSettled([...this.drainers].map((drain) => drain(drainMs)));
    // Drainers enforce the deadline themselves; the margin only guards against one that does not.
    const drainTimer = timeout(drainMs + 1_000);
    const outcome = await Promise.race([drained, drainTimer.promise]);
    drainTimer.cancel();
    if (outcome === "timeout") logger.warn("drain overran its deadline", { drainMs });
    else for (const r of outcome) if (r.status === "rejected") logger.error("drain failed", { error: r.reason });

    let failed = false;
    const hooksTimer = timeout(hookTimeoutMs);
    const runHooks = async () => {
      for (const { hook, name } of [...this.hooks].reverse()) {
        try {
          await hook();
        } catch (error) {
          failed = true;
          logger.error("shutdown hook failed", { hook: name, error });
        }
      }
    };
    if ((await Promise.race([runHooks(), hooksTimer.promise])) === "timeout") {
      failed = true;
      logger.error("shutdown hooks overran their deadline", { hookTimeoutMs });
    }
    hooksTimer.cancel();

    const code = failed ? 1 : 0;
    logger.info("shut down", { code, ms: Math.round(performance.now() - started) });
    return code;
  }

  /**
   * Makes SIGTERM and SIGINT (or `signals`) run the shutdown and exit with its code; a second
   * signal exits 1 at once. Returns a function that removes the handlers.
   */
  handleSignals(signals: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"]): () => void {
    const onSignal = (signal: NodeJS.Signals) => {
      if (this.running !== undefined) {
        this.options.logger.warn("second signal: exiting now", { signal });
        this.options.exit(1);
        return;
      }
      void this.run(signal).then((code) => this.options.exit(code));
    };
    for (const s of signals) process.on(s, onSignal);
    return () => {
      for (const s of signals) process.off(s, onSignal);
    };
  }
}

/** The coordinator of this process, used by `onShutdown`, `installSignalHandlers` and HTTP servers. */
export const processShutdown = new ShutdownCoordinator();

/**
 * Registers a cleanup hook on the process coordinator; hooks run after HTTP servers have drained,
 * in reverse order of registration. Returns a function that unregisters it.
 * @example
 * const db = openStore(dir);
 * onShutdown(() => db.close());
 */
export function onShutdown(hook: ShutdownHook, name?: string): () => void {
  return processShutdown.onShutdown(hook, name);
}

/**
 * Installs the SIGTERM/SIGINT handlers of the process coordinator, applying `options` to it.
 * Call once from a process entry point (never from library code). Returns a function that removes them.
 * @example
 * installSignalHandlers({ drainMs: 5_000, logger });
 */
export function installSignalHandlers(options: ShutdownOptions = {}): () => void {
  processShutdown.configure(options);
  return processShutdown.handleSignals();
}
