#!/usr/bin/env node
/** helper-v2v-input-ova: under construction. */
import "./index.js";
