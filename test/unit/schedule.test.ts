// Nightly drill schedules: the cron expression and the jitter are checked here, before anything
// reaches the Temporal server, with messages that name the field and the fix (exit 2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError, exitCodeFor } from '../../src/cli/common';
import { checkCron, checkJitter } from '../../src/cli/schedule';

const refused = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(exitCodeFor(e), 2);
    assert.match(e.message, message);
    return true;
  });

void describe('schedule create: cron and jitter', () => {
  void it('accepts five in-range fields, names and steps', () => {
    assert.equal(checkCron('0 3 * * *'), '0 3 * * *');
    assert.equal(checkCron('  */15  2-5 1,15 JAN-MAR MON-FRI '), '*/15 2-5 1,15 JAN-MAR MON-FRI');
  });

  void it('refuses a field out of range, naming it and the ranges', () => {
    refused(() => checkCron('61 3 * * *'), /--cron 61 3 \* \* \*: .*61 expected range 0-59; the fields are minute \(0-59\), hour \(0-23\)/);
    refused(() => checkCron('0 24 * * *'), /got value 24 expected range 0-23/);
    refused(() => checkCron('0 3 32 * *'), /got value 32 expected range 1-31/);
    refused(() => checkCron('0 3 * 13 *'), /got value 13 expected range 1-12/);
    refused(() => checkCron('0 3 * * 9'), /got value 9 expected range 0-7/);
    refused(() => checkCron('0 3 * *'), /expected five cron fields "minute hour day month weekday"/);
  });

  void it('bounds the jitter by a day and by the time between two runs', () => {
    assert.equal(checkJitter('10m', '0 3 * * *', 'Europe/Berlin'), '10m');
    assert.equal(checkJitter(undefined, '0 3 * * *', undefined), undefined);
    refused(() => checkJitter('99999h', '0 3 * * *', undefined), /--jitter 99999h: must be shorter than 24h \(a day\)/);
    refused(() => checkJitter('20m', '*/15 * * * *', undefined), /--jitter 20m: must be shorter than 15m \(the time between two runs of '\*\/15 \* \* \* \*'\)/);
    refused(() => checkJitter('ten minutes', '0 3 * * *', undefined), /expected a duration such as 30s, 15m or 2h/);
  });
});
