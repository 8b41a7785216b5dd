import { zoneName, zonesOf } from '../regions.ts';
import type { ClassCatalogue } from './instance-class-catalogue.ts';
import { gb, memoryOffers, offeredTypes, type MemoryOffer } from './memory-offers.ts';

/** AzInfo of JD's model. */
export interface AzInfoView {
  azId: string;
  azName: string;
  soldOut: boolean;
}

interface MemorySpecView {
  memoryGB: number;
  memoryMB: number;
  soldOut: boolean;
  availableZones: AzInfoView[];
  availableFlavors: {
    shardNumber: number;
    ipNumber: number;
    recommended: boolean;
    instanceClasses: string[];
    detail: { cpu: number; diskGB: number; maxConnection: number; bandwidthMbps: number };
  }[];
}

export interface AvailableResourceView {
  architectureType: string;
  architectureName: string;
  recommended: boolean;
  soldOut: boolean;
  supportedMaxReplicas: number;
  supportedMinReplicas: number;
  supportedAzSpecifyType: string[];
  minAzLimitForCluster: number;
  supportedExposeType: string[];
  supportSmartProxy: boolean;
  availableEngineVersions: {
    version: string;
    recommended: boolean;
    soldOut: boolean;
    mustEnableSmartProxy: boolean;
    availableCPUArchs: {
      cpuArchInfo: { cpuType: string; cpuName: string };
      soldOut: boolean;
      availableMemorySpecs: MemorySpecView[];
      shardNumberMin: number;
      shardNumberMax: number;
      maxMemoryMB: number;
    }[];
    /** The 2.6-era docs' place for the memory specs (before CPU architectures); the same list. */
    availableMemorySpecs: MemorySpecView[];
  }[];
}

/** JD's names of the architectures (Go SDK `AvailableResource.architectureType`). */
const ARCHITECTURE_NAMES: Record<string, string> = {
  'master-slave': '标准版',
  cluster: '代理集群版',
  'native-cluster': 'cluster集群版',
};

/** Replicas including the primary: every shard is a master and one replica here (replicaNumber 2). */
export const REPLICA_NUMBER = 2;

/** The one way zones are chosen here: a master zone and a replica zone (azId.master / azId.slave). */
export const AZ_SPECIFY_TYPES = ['SpecifyByReplicaGroup'];

export function availableZones(region: string): AzInfoView[] {
  return zonesOf(region).map((azId) => ({ azId, azName: zoneName(azId), soldOut: false }));
}

function memorySpec(offer: MemoryOffer, zones: AzInfoView[]): MemorySpecView {
  return {
    memoryGB: gb(offer.memoryMB),
    memoryMB: offer.memoryMB,
    soldOut: false,
    availableZones: zones,
    availableFlavors: offer.flavors.map((f) => ({
      shardNumber: f.shardNumber,
      ipNumber: f.nodes,
      recommended: f === offer.preferred,
      instanceClasses: [f.cls.instanceClass],
      detail: { cpu: f.cpu, diskGB: f.diskGB, maxConnection: f.maxConnection, bandwidthMbps: f.bandwidthMbps },
    })),
  };
}

/**
 * describeAvailableResource from the class catalogue: one entry per architecture this service builds,
 * each engine version with its memory sizes and flavors (Go SDK 2.7 model: under the host's CPU
 * architecture; the 2.6-era docs' `availableMemorySpecs` beside it). Nothing is sold out: whether a
 * size fits is decided by quota and host admission at create, with a message naming the figures.
 * No smart proxy, no NodePort/LoadBalancer exposure, zones chosen per replica group only.
 */
export function availableResources(catalogue: ClassCatalogue, region: string, cpuArch: { cpuType: string; cpuName: string }): AvailableResourceView[] {
  const zones = availableZones(region);
  const versions = catalogue.versions();
  const types = [...new Set(versions.flatMap((v) => offeredTypes(catalogue, v)))];
  return types.map((type) => {
    const typeVersions = versions.filter((v) => offeredTypes(catalogue, v).includes(type));
    return {
      architectureType: type,
      architectureName: ARCHITECTURE_NAMES[type] ?? type,
      recommended: type === 'master-slave',
      soldOut: false,
      supportedMaxReplicas: REPLICA_NUMBER,
      supportedMinReplicas: REPLICA_NUMBER,
      supportedAzSpecifyType: AZ_SPECIFY_TYPES,
      minAzLimitForCluster: 0,
      supportedExposeType: [],
      supportSmartProxy: false,
      availableEngineVersions: typeVersions.map((version) => {
        const offers = memoryOffers(catalogue, version, type);
        const specs = offers.map((o) => memorySpec(o, zones));
        const shardCounts = offers.flatMap((o) => o.flavors.map((f) => f.shardNumber));
        return {
          version,
          recommended: version === typeVersions[typeVersions.length - 1],
          soldOut: false,
          mustEnableSmartProxy: false,
          availableCPUArchs: [
            {
              cpuArchInfo: cpuArch,
              soldOut: false,
              availableMemorySpecs: specs,
              shardNumberMin: Math.min(...shardCounts),
              shardNumberMax: Math.max(...shardCounts),
              maxMemoryMB: Math.max(...offers.map((o) => o.memoryMB)),
            },
          ],
          availableMemorySpecs: specs,
        };
      }),
    };
  });
}
