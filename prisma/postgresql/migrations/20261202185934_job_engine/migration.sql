-- AlterTable
ALTER TABLE "JobSession" ADD COLUMN     "heartbeatAt" TIMESTAMP(3),
ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'backup',
ADD COLUMN     "subject" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "title" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "workerId" TEXT,
ALTER COLUMN "jobId" DROP NOT NULL;

-- CreateTable
CREATE TABLE "SessionVm" (
    "id" TEXT NOT NULL,
    "sessionId" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'pending',
    "progress" TEXT NOT NULL,
    "workerId" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "heartbeatAt" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "endedAt" TIMESTAMP(3),

    CONSTRAINT "SessionVm_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SessionEvent" (
    "id" SERIAL NOT NULL,
    "sessionId" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "type" TEXT NOT NULL,
    "level" TEXT NOT NULL DEFAULT 'info',
    "vmExternalId" TEXT,
    "workerId" TEXT,
    "text" TEXT NOT NULL DEFAULT '',
    "data" TEXT NOT NULL DEFAULT '{}',

    CONSTRAINT "SessionEvent_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProxyTask" (
    "proxyExternalId" TEXT NOT NULL,
    "slot" INTEGER NOT NULL,
    "sessionId" TEXT NOT NULL,
    "vmExternalId" TEXT NOT NULL,
    "deviceKey" INTEGER NOT NULL,
    "workerId" TEXT NOT NULL,
    "takenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leaseUntil" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ProxyTask_pkey" PRIMARY KEY ("proxyExternalId","slot")
);

-- CreateTable
CREATE TABLE "JobWorker" (
    "id" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeatAt" TIMESTAMP(3) NOT NULL,
    "stoppedAt" TIMESTAMP(3),
    "tasks" TEXT NOT NULL DEFAULT '[]',

    CONSTRAINT "JobWorker_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QueueJob" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'created',
    "singletonKey" TEXT,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "retryLimit" INTEGER NOT NULL DEFAULT 2,
    "startAfter" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leaseUntil" TIMESTAMP(3),
    "workerId" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "completedAt" TIMESTAMP(3),
    "error" TEXT,

    CONSTRAINT "QueueJob_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QueueSchedule" (
    "name" TEXT NOT NULL,
    "cron" TEXT NOT NULL,
    "tz" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "payload" TEXT NOT NULL DEFAULT '{}',
    "nextRunAt" TIMESTAMP(3) NOT NULL,
    "lastRunAt" TIMESTAMP(3),

    CONSTRAINT "QueueSchedule_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE UNIQUE INDEX "SessionVm_sessionId_vmExternalId_key" ON "SessionVm"("sessionId", "vmExternalId");

-- CreateIndex
CREATE INDEX "SessionEvent_sessionId_id_idx" ON "SessionEvent"("sessionId", "id");

-- CreateIndex
CREATE INDEX "QueueJob_state_kind_startAfter_idx" ON "QueueJob"("state", "kind", "startAfter");

-- CreateIndex
CREATE INDEX "QueueJob_singletonKey_idx" ON "QueueJob"("singletonKey");

-- CreateIndex
CREATE INDEX "JobSession_kind_queuedAt_idx" ON "JobSession"("kind", "queuedAt");

-- AddForeignKey
ALTER TABLE "SessionVm" ADD CONSTRAINT "SessionVm_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "JobSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SessionEvent" ADD CONSTRAINT "SessionEvent_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "JobSession"("id") ON DELETE CASCADE ON UPDATE CASCADE;

