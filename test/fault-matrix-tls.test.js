'use strict';
// The fault matrix over TLS (test/helpers/fault-matrix.js has the cases).

const { defineFaultMatrix } = require('./helpers/fault-matrix.js');

defineFaultMatrix(true);
