/**
 * The logging surface drivers need. A pino `Logger` satisfies it; tests may pass a small recorder.
 * Objects first, message second, as pino expects, so fields stay queryable.
 */
export interface DriverLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
