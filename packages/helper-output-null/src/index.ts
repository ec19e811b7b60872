export * from "./output-null.js";
