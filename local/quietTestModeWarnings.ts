/**
 * Outside the Functions host, `@azure/functions` prints that it is in "test mode" on load and once per
 * registration. The local host serves those very registrations, so those lines (and only those) are
 * dropped. Import this module first, before anything that loads `@azure/functions`.
 */
const TEST_MODE_WARNING = /"@azure\/functions" package (?:is in|to) test mode/;
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]): void => {
  if (typeof args[0] === "string" && TEST_MODE_WARNING.test(args[0])) return;
  warn(...args);
};
