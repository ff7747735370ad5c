import { createRequire } from "node:module";

/**
 * Azurite keeps each table in a LokiJS collection indexed on PartitionKey and on RowKey separately,
 * and looks an entity up with `findOne({ PartitionKey, RowKey })`: LokiJS narrows by the first index
 * only and scans the rest. Every insert (to check that the row is new) therefore scans its whole
 * partition, and an audit chain is one partition: the cost of an append grows with the chain, so
 * `npm start` slowed down and spent more CPU the longer it served. This gives those exact look-ups a
 * map by (PartitionKey, RowKey), kept by the collection's own insert, update and delete events; any
 * other query, and any hit that is no longer the stored row, goes to LokiJS as before.
 */

interface LokiDocument {
  readonly $loki?: number;
  readonly PartitionKey?: unknown;
  readonly RowKey?: unknown;
}

interface LokiCollection {
  findOne(query: unknown): LokiDocument | null;
  get(id: number): LokiDocument | null;
  on(event: "insert" | "update" | "delete", listener: (documents: LokiDocument | LokiDocument[]) => void): void;
  readonly data: readonly LokiDocument[];
}

type FindOne = (this: LokiCollection, query: unknown) => LokiDocument | null;

// LokiJS as Azurite itself resolves it, so that the patched class is the one its tables use.
const require = createRequire(createRequire(import.meta.url).resolve("azurite/package.json"));
const indexes = new WeakMap<LokiCollection, Map<string, LokiDocument>>();
let installed = false;

const keyOf = (partitionKey: string, rowKey: string): string => `${partitionKey}\u0000${rowKey}`;

/** `{ PartitionKey, RowKey }` with two strings and nothing else: the look-up the map answers. */
function entityKeyOf(query: unknown): string | null {
  if (typeof query !== "object" || query === null) return null;
  const keys = Object.keys(query);
  if (keys.length !== 2) return null;
  const { PartitionKey: partitionKey, RowKey: rowKey } = query as LokiDocument;
  return typeof partitionKey === "string" && typeof rowKey === "string" ? keyOf(partitionKey, rowKey) : null;
}

function documentKeyOf(document: LokiDocument): string | null {
  return typeof document.PartitionKey === "string" && typeof document.RowKey === "string" ? keyOf(document.PartitionKey, document.RowKey) : null;
}

/** The collection's map, built from its rows on first use and kept by its events from then on. */
function indexOf(collection: LokiCollection): Map<string, LokiDocument> {
  let index = indexes.get(collection);
  if (index) return index;
  const built = new Map<string, LokiDocument>();
  const put = (documents: LokiDocument | LokiDocument[]): void => {
    for (const document of Array.isArray(documents) ? documents : [documents]) {
      const key = documentKeyOf(document);
      if (key !== null) built.set(key, document);
    }
  };
  for (const document of collection.data) put(document);
  collection.on("insert", put);
  collection.on("update", put);
  collection.on("delete", (documents) => {
    for (const document of Array.isArray(documents) ? documents : [documents]) {
      const key = documentKeyOf(document);
      if (key !== null && built.get(key) === document) built.delete(key);
    }
  });
  indexes.set(collection, built);
  index = built;
  return index;
}

/** Installs the look-up on LokiJS's collections in this process (the one Azurite loads); idempotent. */
export function indexAzuriteEntityKeys(): void {
  if (installed) return;
  installed = true;
  const Loki = require("lokijs") as { Collection: { prototype: { findOne: FindOne } } };
  const original = Loki.Collection.prototype.findOne;
  Loki.Collection.prototype.findOne = function findOne(this: LokiCollection, query: unknown): LokiDocument | null {
    const key = entityKeyOf(query);
    if (key === null) return original.call(this, query);
    const index = indexOf(this);
    const hit = index.get(key);
    if (hit === undefined) return null;
    // The stored row itself, or LokiJS decides (and the map learns its answer).
    if (hit.$loki !== undefined && this.get(hit.$loki) === hit) return hit;
    const found = original.call(this, query);
    if (found) index.set(key, found);
    else index.delete(key);
    return found;
  };
}
