-- AlterTable
ALTER TABLE "ReplicaPoint" ADD COLUMN "sourceChangeIds" TEXT;

