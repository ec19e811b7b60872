#!/usr/bin/env node
// Linked by npm at install time, before the build: the program is in ../dist (npm run build).
import "../dist/src/cli.js";
