import pino, { type Logger } from 'pino';

/** Structured JSON logs on stderr; every line of a job carries run, job and device ids. */
export function createLogger(level = 'info', name = 'worker'): Logger {
  return pino({ name, level }, pino.destination(2));
}
