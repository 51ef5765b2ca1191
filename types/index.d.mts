// Declarations of the ESM entry (lib/index.mjs). They are the CommonJS declarations re-exported
// as an ES module, so TypeScript under node16/nodenext sees the ESM entry as ESM (not CommonJS
// "masquerading" as ESM) while classes such as RealtimeError stay one type for both entries.

import api from './index.js';

export * from './index.js';
/** The CommonJS module object, as lib/index.mjs exports it by default. */
export default api;
