/**
 * Recipes: the config keys that decide what a run computes, as opposed to the keys that only steer
 * how it runs (paths, limits, logging, the backend). Outputs that are resumed or combined must have
 * been made by one recipe: a dataset's parts, a training run and its resume, an analysis run's cells.
 *
 * Each config schema declares its recipe beside it. A key added after outputs already existed
 * names the value those outputs were made with (`addedLater`): a recorded recipe without the key
 * means that value, and a recipe taking that value leaves the key out when it is recorded, so
 * outputs from before and after the key compare equal.
 */

/** Config keys that decide a run's outputs, and the old value of each key added later. */
export class Recipe {
  constructor(
    readonly keys: readonly string[],
    readonly addedLater: Readonly<Record<string, unknown>> = {},
  ) {}

  /** This recipe and `other`'s keys together. */
  with(other: Recipe): Recipe {
    return new Recipe([...new Set([...this.keys, ...other.keys])], { ...this.addedLater, ...other.addedLater });
  }

  /** The recipe's keys of `config`, as recorded: absent keys and added-later keys at their old value are left out. */
  pick(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of this.keys) {
      if (!(k in config) || config[k] === undefined) continue;
      if (k in this.addedLater && canonicalJson(config[k]) === canonicalJson(this.addedLater[k])) continue;
      out[k] = config[k];
    }
    return out;
  }

  /**
   * "key: saved X vs now Y" for every key of this recipe on which two configs differ (a whole saved
   * config may hold other keys too; those are not compared).
   */
  differences(saved: Readonly<Record<string, unknown>>, now: Readonly<Record<string, unknown>>): string[] {
    return differencesOver(this.keys, saved, now, this.addedLater);
  }
}

/**
 * Differences between two recorded recipes (every key either holds); an absent key is null, or the
 * value `addedLater` names for it.
 */
export function compareRecorded(
  saved: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
  addedLater: Readonly<Record<string, unknown>> = {},
): string[] {
  return differencesOver([...new Set([...Object.keys(saved), ...Object.keys(now)])], saved, now, addedLater);
}

function differencesOver(
  keys: readonly string[],
  saved: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
  addedLater: Readonly<Record<string, unknown>>,
): string[] {
  const value = (c: Readonly<Record<string, unknown>>, k: string): string => canonicalJson(k in c && c[k] !== undefined ? c[k] : k in addedLater ? addedLater[k] : null);
  const out: string[] = [];
  for (const k of keys) {
    const a = value(saved, k);
    const b = value(now, k);
    if (a !== b) out.push(`${k}: saved ${a} vs now ${b}`);
  }
  return out;
}

/** JSON with sorted object keys, so equal values compare equal whatever their key order. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x,
  ) ?? 'undefined';
}
