/**
 * A binary heap: `pop` returns the item that must come out first according to `before`.
 * push and pop are O(log n), peek is O(1).
 */
export class BinaryHeap<T> {
  readonly #items: T[] = [];
  readonly #before: (a: T, b: T) => boolean;

  /** `before(a, b)` is true when `a` must come out ahead of `b`. */
  constructor(before: (a: T, b: T) => boolean) {
    this.#before = before;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  push(item: T): void {
    this.#items.push(item);
    this.#siftUp(this.#items.length - 1);
  }

  pop(): T | undefined {
    if (this.#items.length === 0) return undefined;
    const top = this.#at(0);
    const last = this.#at(this.#items.length - 1);
    this.#items.pop();
    if (this.#items.length > 0) {
      this.#items[0] = last;
      this.#siftDown(0);
    }
    return top;
  }

  clear(): void {
    this.#items.length = 0;
  }

  // Callers only pass indices below `#items.length`.
  #at(index: number): T {
    return this.#items[index] as T;
  }

  #swap(i: number, j: number): void {
    const item = this.#at(i);
    this.#items[i] = this.#at(j);
    this.#items[j] = item;
  }

  #siftUp(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.#before(this.#at(child), this.#at(parent))) return;
      this.#swap(child, parent);
      child = parent;
    }
  }

  #siftDown(index: number): void {
    const size = this.#items.length;
    let parent = index;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let first = parent;
      if (left < size && this.#before(this.#at(left), this.#at(first))) first = left;
      if (right < size && this.#before(this.#at(right), this.#at(first))) first = right;
      if (first === parent) return;
      this.#swap(parent, first);
      parent = first;
    }
  }
}
