'use strict'
// The tests' redis-server: scripts/redis.js, which the benchmark uses too.
module.exports = require('../../scripts/redis')
