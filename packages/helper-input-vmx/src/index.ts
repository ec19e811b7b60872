/** helper-v2v-input-vmx: under construction. */
export {};
