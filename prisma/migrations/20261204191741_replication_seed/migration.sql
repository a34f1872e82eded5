-- AlterTable
ALTER TABLE "ReplicationJob" ADD COLUMN "seedFromRepositoryId" TEXT;

