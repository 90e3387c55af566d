import { graphql } from './generated/index.js';

/** The operations the end-to-end tests send, typed by `npm run codegen`. */

export const SubmitJob = graphql(`
  mutation SubmitJob($input: SubmitJobInput!) {
    submitJob(input: $input) {
      __typename
      ... on SubmitJobSuccess {
        job {
          id
          name
          queue
          priority
          status
          taskCount
          tasks(first: 100) {
            edges {
              node {
                id
                type
                status
                payload
              }
            }
          }
        }
      }
      ... on Error {
        message
        code
      }
      ... on ValidationError {
        details {
          path
          message
        }
      }
      ... on IdempotencyConflictError {
        idempotencyKey
        existingJobId
        existingJob {
          id
          name
          status
        }
      }
      ... on RateLimitError {
        retryAfterMs
        perMinute
      }
    }
  }
`);

export const GetJob = graphql(`
  query GetJob($id: ID!) {
    job(id: $id) {
      id
      name
      status
      taskCount
      taskCounts {
        blocked
        queued
        running
        succeeded
        failed
        cancelled
      }
      progress {
        fraction
        percent
        tasksTotal
        tasksDone
        tasksSucceeded
        taskCounts {
          running
          succeeded
        }
      }
      finishedAt
      tasks(first: 100) {
        edges {
          node {
            id
            type
            status
            attempt
            maxAttempts
            result
            error {
              message
              code
            }
            progress {
              current
              total
              percent
              message
            }
          }
        }
      }
    }
  }
`);

export const GetTask = graphql(`
  query GetTask($id: ID!) {
    task(id: $id) {
      id
      status
      attempt
      job {
        id
        status
      }
    }
  }
`);

export const NodeById = graphql(`
  query NodeById($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Job {
        name
      }
      ... on Task {
        type
      }
    }
  }
`);

export const ListJobs = graphql(`
  query ListJobs($first: Int, $after: String, $last: Int, $before: String, $status: [JobStatus!], $queue: String, $name: String) {
    jobs(first: $first, after: $after, last: $last, before: $before, status: $status, queue: $queue, name: $name) {
      edges {
        cursor
        node {
          id
          name
          status
          queue
          tasks(first: 10) {
            edges {
              node {
                id
                type
                status
              }
            }
          }
        }
      }
      pageInfo {
        hasNextPage
        hasPreviousPage
        endCursor
        startCursor
      }
    }
  }
`);

export const JobEvents = graphql(`
  query JobEvents($id: ID!, $first: Int, $after: String) {
    job(id: $id) {
      id
      events(first: $first, after: $after) {
        edges {
          node {
            id
            seq
            type
            jobStatus
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
      }
    }
  }
`);

export const RetryTask = graphql(`
  mutation RetryTask($id: ID!) {
    retryTask(id: $id) {
      __typename
      ... on RetryTaskSuccess {
        task {
          id
          status
          attempt
          job {
            id
            status
          }
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const CancelTask = graphql(`
  mutation CancelTask($id: ID!) {
    cancelTask(id: $id) {
      __typename
      ... on CancelTaskSuccess {
        task {
          id
          status
          job {
            id
            status
          }
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const CancelJob = graphql(`
  mutation CancelJob($id: ID!) {
    cancelJob(id: $id) {
      __typename
      ... on CancelJobSuccess {
        job {
          id
          status
          taskCounts {
            cancelled
            succeeded
          }
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const JobProgress = graphql(`
  subscription JobProgress($jobId: ID!, $after: ID) {
    jobProgress(jobId: $jobId, after: $after) {
      id
      seq
      type
      at
      attempt
      jobStatus
      message
      progress {
        current
        total
        percent
        message
      }
      task {
        id
        type
        status
      }
      jobProgress {
        fraction
        percent
        tasksTotal
        tasksDone
      }
    }
  }
`);

/** A narrower selection of the same stream: another document, so another execution of each event. */
export const JobProgressStatuses = graphql(`
  subscription JobProgressStatuses($jobId: ID!) {
    jobProgress(jobId: $jobId) {
      seq
      type
      task {
        id
        status
      }
    }
  }
`);

export const TaskAttempts = graphql(`
  query TaskAttempts($id: ID!) {
    task(id: $id) {
      id
      key
      type
      status
      pendingDependencies
      dependsOn {
        id
        key
        status
      }
      queue
      priority
      attempt
      runAt
      createdAt
      result
      error {
        code
        message
      }
      progress {
        current
        total
        message
      }
      backoff {
        type
        delayMs
        maxDelayMs
        jitter
      }
      attempts {
        number
        status
        workerId
        startedAt
        finishedAt
        error {
          code
          message
        }
      }
    }
  }
`);

export const CreateJobToken = graphql(`
  mutation CreateJobToken($jobId: ID!, $expiresInSeconds: Int) {
    createJobToken(jobId: $jobId, expiresInSeconds: $expiresInSeconds) {
      __typename
      ... on CreateJobTokenSuccess {
        token
        expiresAt
        job {
          id
        }
      }
      ... on Error {
        message
        code
      }
      ... on AuthorizationError {
        requiredScopes
      }
    }
  }
`);

export const Health = graphql(`
  query Health {
    health {
      ready
      status
      checks {
        name
        ok
        message
        durationMs
      }
    }
  }
`);

export const Workers = graphql(`
  query Workers {
    workers {
      id
      host
      pid
      version
      queues {
        name
        slots
      }
      slots
      running
      leaseMs
      startedAt
      lastHeartbeatAt
      stoppedAt
      state
    }
  }
`);

export const Queues = graphql(`
  query Queues {
    queues {
      name
      paused
      pausedAt
      oldestQueuedAt
      workersAlive
      slotsAlive
      unserved
      queued
      scheduled
      running
      parked
      lastMinute {
        started
        finished
        failed
      }
      lastHour {
        started
        finished
        failed
      }
      rateLimit {
        maxStarts
        intervalMs
      }
    }
  }
`);

export const RateLimits = graphql(`
  query RateLimits {
    rateLimits {
      scope
      name
      maxStarts
      intervalMs
      setBy
    }
  }
`);

export const SetRateLimit = graphql(`
  mutation SetRateLimit($input: SetRateLimitInput!) {
    setRateLimit(input: $input) {
      __typename
      ... on SetRateLimitSuccess {
        rateLimit {
          scope
          name
          maxStarts
          intervalMs
        }
      }
      ... on ValidationError {
        message
        details {
          path
          message
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const RemoveRateLimit = graphql(`
  mutation RemoveRateLimit($scope: RateLimitScope!, $name: String!) {
    removeRateLimit(scope: $scope, name: $name) {
      __typename
      ... on RemoveRateLimitSuccess {
        rateLimit {
          scope
          name
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const PauseQueue = graphql(`
  mutation PauseQueue($name: String!) {
    pauseQueue(name: $name) {
      __typename
      ... on PauseQueueSuccess {
        queue {
          name
          paused
          pausedAt
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const ResumeQueue = graphql(`
  mutation ResumeQueue($name: String!) {
    resumeQueue(name: $name) {
      __typename
      ... on ResumeQueueSuccess {
        queue {
          name
          paused
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const Schedules = graphql(`
  query Schedules {
    schedules {
      name
      cron
      timeZone
      job
      missedTicks
      missedLimit
      source
      paused
      nextRunAt
      lastRunAt
      lastJob {
        id
        name
      }
    }
  }
`);

export const UpsertSchedule = graphql(`
  mutation UpsertSchedule($input: UpsertScheduleInput!) {
    upsertSchedule(input: $input) {
      __typename
      ... on UpsertScheduleSuccess {
        schedule {
          name
          cron
          timeZone
          paused
          nextRunAt
          source
        }
      }
      ... on ValidationError {
        message
        details {
          path
          message
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const PauseSchedule = graphql(`
  mutation PauseSchedule($name: String!) {
    pauseSchedule(name: $name) {
      __typename
      ... on PauseScheduleSuccess {
        schedule {
          name
          paused
          nextRunAt
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const ResumeSchedule = graphql(`
  mutation ResumeSchedule($name: String!) {
    resumeSchedule(name: $name) {
      __typename
      ... on ResumeScheduleSuccess {
        schedule {
          name
          paused
          nextRunAt
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);

export const DeleteSchedule = graphql(`
  mutation DeleteSchedule($name: String!) {
    deleteSchedule(name: $name) {
      __typename
      ... on DeleteScheduleSuccess {
        schedule {
          name
        }
      }
      ... on Error {
        message
        code
      }
    }
  }
`);
