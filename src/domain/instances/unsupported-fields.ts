import { DomainError } from '../domain-error.ts';
import { REPLICA_NUMBER } from '../catalogue/available-resources.ts';
import type { ChargeInput, CreateInstanceInput, ModifyClassInput } from './instance-inputs.ts';

/**
 * JD fields this service cannot honour are refused with the field and the reason, never accepted and
 * dropped: a caller who asks for a config template, zones per cluster or a proxy would otherwise get
 * an instance without them and no word about it. A field's neutral value (absent, empty list, false,
 * the one supported choice) is accepted, because the Go and Python SDKs send every field.
 */
export function refuseUnsupportedCreateFields(input: CreateInstanceInput, charge: ChargeInput | undefined): void {
  if (input.azId.azSpecifyType === 'SpecifyByCluster') {
    throw new DomainError(
      'INVALID_ARGUMENT',
      'cacheInstance.azId.azSpecifyType: SpecifyByCluster is not supported; use SpecifyByReplicaGroup (the default), with the zones in azId.master and azId.slave',
    );
  }
  if (input.azId.azsForCluster?.length) {
    throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.azId.azsForCluster: zones per cluster are not supported; give azId.master and azId.slave');
  }
  if (input.azId.azsForProxy?.length) {
    throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.azId.azsForProxy: instances here have no proxy; leave it empty');
  }
  if (input.configTemplateId) {
    throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.configTemplateId: configuration templates are not supported; leave it empty');
  }
  if (input.opsTags?.length) {
    throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.opsTags: operations tags are not supported; use userTags');
  }
  const extension = Object.keys(input.extension ?? {});
  if (extension.length > 0) {
    // JD's public model (ReqExtension) has no members: whatever is given here would be dropped.
    throw new DomainError('INVALID_ARGUMENT', `cacheInstance.extension: no extension fields are supported, got ${extension.slice(0, 5).join(', ')}`);
  }
  if (input.ipv6On === 1) {
    throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.ipv6On: IPv6 is not offered; instances listen on an IPv4 address (use 0)');
  }
  if (charge?.autoChangeChargeMode) {
    throw new DomainError('INVALID_ARGUMENT', 'charge.autoChangeChargeMode: an automatic change of charge mode is not supported; use false');
  }
}

/** The same for modifyCacheInstanceClass's newer fields (Go SDK 2.7). */
export function refuseUnsupportedResizeFields(input: ModifyClassInput): void {
  if (input.replicaNumber !== undefined && input.replicaNumber !== REPLICA_NUMBER) {
    throw new DomainError('INVALID_ARGUMENT', `replicaNumber: only ${REPLICA_NUMBER} (one primary and one replica) is supported`);
  }
  if (input.replicaAzs2Add?.length) {
    throw new DomainError('INVALID_ARGUMENT', 'replicaAzs2Add: replicas cannot be added; leave it empty');
  }
  if (input.parallel) {
    throw new DomainError('INVALID_ARGUMENT', 'parallel: a parallel resize is not supported; leave it false or absent');
  }
  if (input.effectiveTime === 'MaintainTime') {
    throw new DomainError('INVALID_ARGUMENT', 'effectiveTime: there is no maintenance window, changes apply at once; use Immediately');
  }
}
