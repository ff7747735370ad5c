export { contentDigest } from "./hashing.js";
