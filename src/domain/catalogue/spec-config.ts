import { zonesOf } from '../regions.ts';
import type { ClassCatalogue } from './instance-class-catalogue.ts';
import { gb, memoryOffers, offeredTypes } from './memory-offers.ts';

/** ShardSpec of describeSpecConfig: one per-shard class (reference §5 op 62, Go SDK `ShardSpec`). */
export interface ShardSpecView {
  shardClass: string;
  cpu: number;
  memoryGB: number;
  memoryMB: number;
  diskGB: number;
  maxConnection: number;
  bandwidthMbps: number;
  shardNumberList: number[];
}

/** SpecInfo: a whole-instance class, or a total memory of a per-shard type (empty class, zero figures, `shard`). */
export interface SpecInfoView {
  memoryGB: number;
  memoryMB: number;
  instanceClass: string;
  cpu: number;
  diskGB: number;
  maxConnection: number;
  bandwidthMbps: number;
  ipNumber: number;
  shard: { defaultShardNumber: number; defaultShardClass: string; shardNumberList: number[]; ipNumberList: number[] } | null;
  azs: string[];
}

export interface SpecConfigView {
  shardSpec: Record<string, ShardSpecView>;
  instanceSpec: {
    region: string;
    instanceVersions: { redisVersion: string; instanceTypes: { instanceType: string; specs: SpecInfoView[] }[] }[];
  };
}

/**
 * describeSpecConfig from the class catalogue, shaped as JD's documented example: standard classes
 * are specs with their figures; a per-shard type (native-cluster here) lists each total memory with an
 * empty instanceClass, zero figures (they vary with the shard count, as JD documents) and `shard`
 * saying which shard counts give it (the class is total ÷ shards, described in `shardSpec`).
 * ipNumber is the number of Redis nodes (a master and a replica per shard).
 */
export function specConfig(catalogue: ClassCatalogue, region: string): SpecConfigView {
  const azs = zonesOf(region);
  const shardSpec: Record<string, ShardSpecView> = {};
  const instanceVersions = catalogue.versions().map((redisVersion) => ({
    redisVersion,
    instanceTypes: offeredTypes(catalogue, redisVersion).map((instanceType) => ({
      instanceType,
      specs: memoryOffers(catalogue, redisVersion, instanceType).map((offer): SpecInfoView => {
        const f = offer.preferred;
        if (!f.cls.perShard) {
          return {
            memoryGB: gb(offer.memoryMB),
            memoryMB: offer.memoryMB,
            instanceClass: f.cls.instanceClass,
            cpu: f.cpu,
            diskGB: f.diskGB,
            maxConnection: f.maxConnection,
            bandwidthMbps: f.bandwidthMbps,
            ipNumber: f.nodes,
            shard: null,
            azs,
          };
        }
        for (const { cls } of offer.flavors) {
          shardSpec[cls.instanceClass] ??= {
            shardClass: cls.instanceClass,
            cpu: cls.cpu,
            memoryGB: gb(cls.memoryMB),
            memoryMB: cls.memoryMB,
            diskGB: cls.diskGB,
            maxConnection: cls.maxConnection,
            bandwidthMbps: cls.bandwidthMbps,
            shardNumberList: cls.shardNumberList,
          };
        }
        return {
          memoryGB: gb(offer.memoryMB),
          memoryMB: offer.memoryMB,
          instanceClass: '',
          cpu: 0,
          diskGB: 0,
          maxConnection: 0,
          bandwidthMbps: 0,
          ipNumber: 0,
          shard: {
            defaultShardNumber: f.shardNumber,
            defaultShardClass: f.cls.instanceClass,
            shardNumberList: offer.flavors.map((x) => x.shardNumber),
            ipNumberList: offer.flavors.map((x) => x.nodes),
          },
          azs,
        };
      }),
    })),
  }));
  return { shardSpec, instanceSpec: { region, instanceVersions: instanceVersions.filter((v) => v.instanceTypes.length > 0) } };
}
