'use strict';

/**
 * Resolves when `predicate()` holds, re-checked on every 'change' event of `changes`; rejects
 * after `ms` with a message naming `who` and `what`.
 * @param {import('node:events').EventEmitter} changes
 * @param {() => boolean} predicate
 * @param {string} who
 * @param {string} what
 * @param {number} ms
 */
function waitForChange(changes, predicate, who, what, ms) {
  if (predicate()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate()) return;
      clearTimeout(timer);
      changes.off('change', check);
      resolve();
    };
    const timer = setTimeout(() => {
      changes.off('change', check);
      reject(new Error(`${who}: timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    changes.on('change', check);
  });
}

module.exports = { waitForChange };
