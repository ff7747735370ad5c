import { type LogFields, type Logger } from "../../core/logger.js";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

/**
 * One JSON object per line on stderr (the Functions host forwards it to Application Insights traces).
 * Callers pass metadata only; this adapter adds nothing but time, level and message.
 */
export class JsonLogger implements Logger {
  constructor(
    private readonly minimumLevel: LogLevel = "info",
    private readonly write: (line: string) => void = (line) => void process.stderr.write(`${line}\n`),
    private readonly bindings: LogFields = {},
  ) {}

  child(bindings: LogFields): JsonLogger {
    return new JsonLogger(this.minimumLevel, this.write, { ...this.bindings, ...bindings });
  }

  debug(message: string, fields?: LogFields): void {
    this.log("debug", message, fields);
  }
  info(message: string, fields?: LogFields): void {
    this.log("info", message, fields);
  }
  warn(message: string, fields?: LogFields): void {
    this.log("warn", message, fields);
  }
  error(message: string, fields?: LogFields): void {
    this.log("error", message, fields);
  }

  private log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (LEVELS[level] < LEVELS[this.minimumLevel]) return;
    this.write(JSON.stringify({ ts: new Date().toISOString(), level, message, ...this.bindings, ...fields }));
  }
}
