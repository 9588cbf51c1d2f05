import { pino } from 'pino';

/** Quiet unless PB_TEST_LOG=debug|info… is set. */
export const testLogger = pino({ level: process.env.PB_TEST_LOG ?? 'silent' });
