/**
 * Issue 17 (A): a job's GPU request (false | true | a count | device ids) becomes the container's
 * DeviceRequests. The mapping is checked on the create body the runner sends, and that body is sent to a real
 * engine: podman 4.3 accepts it and (FACTS.md, podman#22645) drops the request — its inspect data then shows
 * `HostConfig.DeviceRequests: null`, which this test records; an engine that keeps it must show it as sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deviceRequests, gpuAttachOf, jobContainerBody } from '../../server/jobs/runners/container-spec.ts';
import { buildBusyboxImage } from '../helpers/busybox-image.ts';
import { startPodman } from '../helpers/podman.ts';

const gpu = { Driver: 'nvidia', Capabilities: [['gpu']] };

test('GPU requests map to DeviceRequests: true → every GPU, n → n, ids → those devices, none → nothing', () => {
  assert.deepEqual(deviceRequests(true), [{ ...gpu, Count: -1 }]);
  assert.deepEqual(deviceRequests(2), [{ ...gpu, Count: 2 }]);
  assert.deepEqual(deviceRequests(['0', 'GPU-8f6c1a2e']), [{ ...gpu, DeviceIDs: ['0', 'GPU-8f6c1a2e'] }]);
  for (const none of [false, 0, undefined]) assert.deepEqual(deviceRequests(none), [], String(none));
  const body = (g: Parameters<typeof deviceRequests>[0]) =>
    jobContainerBody({ jobId: 'j', image: 'i', command: [], memoryBytes: 1 << 28, cpus: 1, pids: 64, gpu: g });
  assert.deepEqual(body(2).HostConfig?.DeviceRequests, [{ ...gpu, Count: 2 }]);
  assert.equal(body(false).HostConfig?.DeviceRequests, undefined, 'no GPU: the field is not sent at all');
  // The isolation flags do not depend on the GPU request.
  assert.deepEqual(body(true).HostConfig?.Binds, []);
  assert.equal(body(true).HostConfig?.NetworkMode, 'none');
});

test('podman 5.4+ gets CDI device requests (it ignores the nvidia driver); older podman none; Docker the nvidia driver', () => {
  const cdi = (...ids: string[]) => [{ Driver: 'cdi', DeviceIDs: ids.map((i) => `nvidia.com/gpu=${i}`) }];
  assert.deepEqual(deviceRequests(true, 'cdi'), cdi('all'));
  assert.deepEqual(deviceRequests(2, 'cdi'), cdi('0', '1'));
  assert.deepEqual(deviceRequests(['1', 'GPU-8f6c1a2e'], 'cdi'), cdi('1', 'GPU-8f6c1a2e'));
  assert.deepEqual(deviceRequests(false, 'cdi'), []);
  const podman = (v: string) => ({ Version: v, Components: [{ Name: 'Podman Engine', Version: v }] });
  assert.equal(gpuAttachOf(podman('4.3.1')), 'none');
  assert.equal(gpuAttachOf(podman('5.3.2')), 'none');
  assert.equal(gpuAttachOf(podman('5.4.0')), 'cdi');
  assert.equal(gpuAttachOf(podman('6.0.1')), 'cdi');
  assert.equal(gpuAttachOf({ Version: '27.1.0', Components: [{ Name: 'Engine', Version: '27.1.0' }] }), 'nvidia');
  const body = jobContainerBody({
    jobId: 'j',
    image: 'i',
    command: [],
    memoryBytes: 1 << 28,
    cpus: 1,
    pids: 64,
    gpu: true,
    gpuAttach: 'cdi',
  });
  assert.deepEqual(body.HostConfig?.DeviceRequests, cdi('all'));
});

test('the engine accepts the create body with DeviceRequests; what its inspect data records is checked', async () => {
  const podman = await startPodman();
  try {
    const image = await buildBusyboxImage();
    const sent = jobContainerBody({
      jobId: `gpu-${process.pid}`,
      image,
      command: ['true'],
      memoryBytes: 1 << 28,
      cpus: 1,
      pids: 64,
      gpu: ['0'],
    });
    const c = await podman.docker.createContainer(sent);
    try {
      const info = await c.inspect();
      const v = await podman.docker.version();
      const isPodman = v.Components?.some((x) => /podman/i.test(x.Name));
      if (isPodman && /^4\./.test(v.Version)) {
        // podman 4.3 drops DeviceRequests without an error (podman#22645): nothing of the request is kept, which
        // is why the docker runner refuses a GPU job on it instead of running it without GPUs.
        assert.equal(info.HostConfig.DeviceRequests ?? null, null);
        assert.equal(gpuAttachOf(v), 'none');
      } else {
        assert.deepEqual(info.HostConfig.DeviceRequests, sent.HostConfig?.DeviceRequests);
      }
      assert.equal(info.HostConfig.NetworkMode, 'none');
      assert.equal(info.HostConfig.ReadonlyRootfs, true);
    } finally {
      await c.remove({ force: true, v: true });
    }
  } finally {
    await podman.stop();
  }
});
