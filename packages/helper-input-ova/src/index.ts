/** helper-v2v-input-ova: under construction. */
export {};
