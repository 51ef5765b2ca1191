'use strict';
// The fault matrix over plain TCP (test/helpers/fault-matrix.js has the cases).

const { defineFaultMatrix } = require('./helpers/fault-matrix.js');

defineFaultMatrix(false);
