/** A run's hold on a job: the job, the run's epoch (its fencing token) and the queue engine's own id for it. */
export interface Lease {
  jobId: string;
  epoch: number;
  worker: string;
  engineId?: string;
}
