#!/usr/bin/env node
/** helper-v2v-input-vmx: under construction. */
import "./index.js";
