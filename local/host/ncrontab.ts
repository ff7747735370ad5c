/**
 * The six-field NCRONTAB schedules Azure Functions timers use ("sec min hour day month day-of-week"),
 * with `*`, `*\/n`, `a-b`, `a-b/n` and lists. Enough to run timers locally on their real schedule.
 */
export interface Schedule {
  next(afterInMs: number): number;
}

const RANGES: readonly (readonly [number, number])[] = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
];

function parseField(field: string, [min, max]: readonly [number, number]): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(",")) {
    const [rangeText = "", stepText] = part.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    let low = min;
    let high = max;
    if (rangeText !== "*") {
      const [a, b] = rangeText.split("-").map(Number);
      low = a ?? Number.NaN;
      high = b ?? (stepText === undefined ? low : max);
    }
    if (!Number.isInteger(low) || !Number.isInteger(high) || !Number.isInteger(step) || step <= 0 || low < min || high > max || low > high) {
      throw new Error(`invalid NCRONTAB field "${field}" (allowed ${min}-${max})`);
    }
    for (let value = low; value <= high; value += step) values.add(value);
  }
  return values;
}

export function parseNcrontab(expression: string): Schedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`NCRONTAB "${expression}" needs six fields: second minute hour day month day-of-week`);
  const [seconds, minutes, hours, days, months, weekdays] = fields.map((field, index) => parseField(field, RANGES[index] ?? [0, 0])) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const sortedSeconds = [...seconds].sort((a, b) => a - b);
  return {
    next(afterInMs: number): number {
      // Walk minute by minute (at most a year ahead), then pick the first matching second.
      const start = new Date(Math.floor(afterInMs / 1000) * 1000 + 1000);
      const cursor = new Date(start);
      cursor.setUTCSeconds(0, 0);
      for (let step = 0; step < 366 * 24 * 60; step += 1) {
        if (
          months.has(cursor.getUTCMonth() + 1) &&
          days.has(cursor.getUTCDate()) &&
          weekdays.has(cursor.getUTCDay()) &&
          hours.has(cursor.getUTCHours()) &&
          minutes.has(cursor.getUTCMinutes())
        ) {
          for (const second of sortedSeconds) {
            const candidate = cursor.getTime() + second * 1000;
            if (candidate >= start.getTime()) return candidate;
          }
        }
        cursor.setTime(cursor.getTime() + 60_000);
      }
      throw new Error(`NCRONTAB "${expression}" never fires`);
    },
  };
}
