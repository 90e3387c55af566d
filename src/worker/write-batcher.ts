interface Waiting<In, Out> {
  readonly item: In;
  readonly resolve: (value: Out) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Gathers the calls made close together into one batched write. Calls of the same tick go in one
 * batch (up to `maxBatch`); while `maxInFlight` writes are running, new calls wait and go in the
 * next: under load batches grow by themselves, and an idle worker still writes at once.
 *
 * `write` gets the items in call order and answers one output for each, in the same order. If
 * it throws, every call of that batch rejects with the error.
 */
export class WriteBatcher<In, Out> {
  readonly #write: (items: In[]) => Promise<Out[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #waiting: Waiting<In, Out>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(write: (items: In[]) => Promise<Out[]>, options: { readonly maxBatch: number; readonly maxInFlight: number }) {
    if (!(options.maxBatch >= 1) || !(options.maxInFlight >= 1)) throw new RangeError('maxBatch and maxInFlight must be at least 1');
    this.#write = write;
    this.#maxBatch = options.maxBatch;
    this.#maxInFlight = options.maxInFlight;
  }

  add(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight) return;
    this.#scheduled = true;
    // After this tick's calls: they share the batch.
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.#maxInFlight) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      this.#inFlight += 1;
      this.#write(batch.map((waiting) => waiting.item))
        .then((outputs) => {
          if (outputs.length !== batch.length) throw new Error(`a batched write answered ${outputs.length} outputs for ${batch.length} items`);
          batch.forEach((waiting, i) => waiting.resolve(outputs[i] as Out));
        })
        .catch((error: unknown) => {
          for (const waiting of batch) waiting.reject(error);
        })
        .finally(() => {
          this.#inFlight -= 1;
          if (this.#waiting.length > 0) this.#schedule();
        });
    }
  }
}
