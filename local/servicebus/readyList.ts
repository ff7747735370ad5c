/** Items waiting for delivery, in ascending sequence number; appends and takes from the front in O(1). */
export class ReadyList<T extends { readonly sequenceNumber: number }> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  add(item: T): void {
    const last = this.items[this.items.length - 1];
    if (this.size === 0 || (last !== undefined && last.sequenceNumber < item.sequenceNumber)) {
      this.items.push(item);
      return;
    }
    // A returned (abandoned, expired) item goes back to its place, ahead of later ones.
    this.compact();
    let low = 0;
    let high = this.items.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const at = this.items[mid];
      if (at !== undefined && at.sequenceNumber < item.sequenceNumber) low = mid + 1;
      else high = mid;
    }
    this.items.splice(low, 0, item);
  }

  peekFirst(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.compact();
    }
    return item;
  }

  private compact(): void {
    if (this.head > 0) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
