/** What a task's row and its events carry about an attempt's end and its last progress report. */

export interface TaskErrorValue {
  readonly message: string;
  readonly code: string;
}

export interface TaskProgressValue {
  readonly current: number;
  readonly total: number | null;
  readonly message: string | null;
}
