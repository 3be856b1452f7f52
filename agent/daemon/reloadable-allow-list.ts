import type { AlertCandidate } from '../detect/detector.js';
import { AllowList, type AllowListConfig, type AllowReason } from '../alert/allow-list.js';

/**
 * An AllowList whose entries can be replaced while the aggregator holding it keeps running
 * (SIGHUP): open alerts and their windows stay, only what is suppressed from now on changes.
 */
export class ReloadableAllowList extends AllowList {
  private current: AllowList;

  /** Throws a one-line error naming a bad entry. */
  constructor(cfg: AllowListConfig = {}) {
    super({});
    this.current = new AllowList(cfg);
  }

  /** Validates the new entries first; the old list stays when they are bad (throws). */
  replace(cfg: AllowListConfig): void {
    this.current = new AllowList(cfg);
  }

  override get empty(): boolean {
    return this.current.empty;
  }

  override match(c: AlertCandidate): AllowReason | undefined {
    return this.current.match(c);
  }

  override hostAllowed(ip: string): boolean {
    return this.current.hostAllowed(ip);
  }

  override domainAllowed(name: string): boolean {
    return this.current.domainAllowed(name);
  }
}
