/**
 * Fault schedules for scenario.ts: each runs faults until its deadline and leaves the cluster in
 * any state (the scenario heals and restarts afterwards). Randomness is Math.random: the notes
 * of a run say what happened when.
 */
import type { FaultSchedule } from "./scenario.ts";
import { waitVoters } from "./scenario.ts";
import type { LabMember } from "./lab.ts";

const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const shuffle = <T>(xs: T[]): T[] => [...xs].sort(() => Math.random() - 0.5);
const between = (a: number, b: number) => a + Math.random() * (b - a);

/** Sleeps `ms` or until the deadline, whichever comes first; false when the deadline passed. */
async function hold(ms: number, until: number): Promise<boolean> {
  const left = until - performance.now();
  await Bun.sleep(Math.max(0, Math.min(ms, left)));
  return performance.now() < until;
}

/** Random splits of the members into a minority and a majority (sometimes two minorities + rest). */
export const randomPartitions: FaultSchedule = async (lab, until, note) => {
  while (await hold(between(800, 1_500), until)) {
    const ms = shuffle(lab.members);
    const cut = 1 + Math.floor(Math.random() * Math.floor(ms.length / 2));
    const [a, b] = [ms.slice(0, cut), ms.slice(cut)];
    lab.partition(a, b);
    note(`partition ${a.map((m) => m.name)} | ${b.map((m) => m.name)}`);
    await hold(between(1_500, 3_000), until);
    lab.heal();
    note("heal");
  }
};

/** Cuts the current leader off from every other member (clients still reach it), then heals. */
export const leaderIsolation: FaultSchedule = async (lab, until, note) => {
  while (await hold(between(800, 1_500), until)) {
    const leader = await lab.leader();
    lab.partition([leader], lab.members.filter((m) => m !== leader));
    note(`isolate leader ${leader.name}`);
    await hold(between(2_500, 4_000), until);
    lab.heal();
    note("heal");
  }
};

/** kill -9 of a random member (every other time the leader), restart after a pause (data kept). */
export const killRestart: FaultSchedule = async (lab, until, note) => {
  let round = 0;
  while (await hold(between(800, 1_500), until)) {
    const victim: LabMember = round++ % 2 === 0 ? await lab.leader() : pick(lab.running());
    await lab.kill(victim);
    note(`kill -9 ${victim.name}`);
    await hold(between(800, 2_000), until);
    await lab.start(victim);
    note(`restart ${victim.name}`);
  }
};

/** Random partitions and kills together (for the 5-member cluster). */
export const mixed: FaultSchedule = async (lab, until, note) => {
  while (await hold(between(600, 1_200), until)) {
    if (Math.random() < 0.5) {
      const ms = shuffle(lab.running());
      const cut = 1 + Math.floor(Math.random() * Math.floor(ms.length / 2));
      lab.partition(ms.slice(0, cut), lab.members.filter((m) => !ms.slice(0, cut).includes(m)));
      note(`partition ${ms.slice(0, cut).map((m) => m.name)} | rest`);
      await hold(between(1_500, 2_500), until);
      lab.heal();
      note("heal");
    } else {
      const victim = Math.random() < 0.5 ? await lab.leader() : pick(lab.running());
      await lab.kill(victim);
      note(`kill -9 ${victim.name}`);
      await hold(between(800, 1_500), until);
      await lab.start(victim);
      note(`restart ${victim.name}`);
    }
  }
};

/**
 * A membership change under load: add a member (joining through a random member), wait until it
 * votes, then remove another one — the leader, so the cluster also has to hand leadership over.
 */
export const membershipChange: FaultSchedule = async (lab, until, note) => {
  await hold(1_500, until);
  const voters = lab.members.length;
  const via = pick(lab.running());
  const fresh = lab.addMember();
  await lab.start(fresh, via.endpoint);
  note(`add ${fresh.name} via ${via.name}`);
  await waitVoters(lab, via, voters + 1);
  note(`${fresh.name} votes`);
  await hold(1_500, until);
  const leader = await lab.leader();
  const through = pick(lab.running().filter((m) => m !== leader));
  await lab.call("memberRemove", { endpoint: through.endpoint, memberId: leader.memberId });
  note(`remove ${leader.name} (the leader) via ${through.name}`);
  await lab.stop(leader);
  note(`stopped ${leader.name}`);
  await waitVoters(lab, through, voters);
  note(`${voters} voters again`);
};

/** Slow disks (set at start by the scenario) plus a kill -9 of the leader now and then. */
export const slowDiskKills: FaultSchedule = async (lab, until, note) => {
  while (await hold(between(2_000, 3_000), until)) {
    const leader = await lab.leader();
    await lab.kill(leader);
    note(`kill -9 leader ${leader.name}${leader.slowFsyncMs ? ` (slow disk ${leader.slowFsyncMs} ms)` : ""}`);
    await hold(1_000, until);
    await lab.start(leader);
    note(`restart ${leader.name}`);
  }
};
