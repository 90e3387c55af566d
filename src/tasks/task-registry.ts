import type { AnyTaskDefinition, TaskDefinition } from './define-task.js';

/** The task types a process knows, by name. */
export class TaskRegistry {
  private readonly definitions = new Map<string, TaskDefinition>();

  constructor(definitions: readonly AnyTaskDefinition[] = []) {
    for (const definition of definitions) this.register(definition);
  }

  register(definition: AnyTaskDefinition): this {
    if (this.definitions.has(definition.name)) throw new Error(`task type ${definition.name} is registered twice`);
    this.definitions.set(definition.name, definition);
    return this;
  }

  get(name: string): TaskDefinition | undefined {
    return this.definitions.get(name);
  }

  names(): string[] {
    return [...this.definitions.keys()].sort();
  }
}
