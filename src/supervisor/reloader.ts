/**
 * `--reload`: watches directories recursively and reports, debounced, the files that changed and
 * pass the include and exclude globs. Editors save in bursts (a temp file, a rename, a chmod):
 * one reload per burst.
 */
import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { GlobSet } from './globs.js';

const DEBOUNCE_MS = 150;

export interface ReloadWatchOptions {
  readonly dirs: readonly string[];
  readonly include: readonly string[];
  readonly exclude: readonly string[];
  readonly onChange: (files: string[]) => void;
  readonly onError: (message: string) => void;
}

export class ReloadWatch {
  private readonly watchers: FSWatcher[] = [];
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly options: ReloadWatchOptions) {
    const include = new GlobSet(options.include);
    const exclude = new GlobSet(options.exclude);
    for (const dir of options.dirs) {
      const watcher = watch(dir, { recursive: true }, (_event, filename) => {
        if (filename === null) return;
        const relative = filename.toString().split(path.sep).join('/');
        if (exclude.matchesAnySegment(relative) || !include.matchesFile(relative)) return;
        this.pending.add(path.join(dir, relative));
        if (this.timer !== null) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.flush(), DEBOUNCE_MS);
      });
      watcher.on('error', (error) => options.onError(`--reload stopped watching ${dir}: ${error.message}`));
      this.watchers.push(watcher);
    }
  }

  private flush(): void {
    this.timer = null;
    const files = [...this.pending];
    this.pending.clear();
    if (files.length > 0) this.options.onChange(files);
  }

  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    for (const watcher of this.watchers) watcher.close();
  }
}
