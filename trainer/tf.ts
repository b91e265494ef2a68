/**
 * The one import point for TensorFlow.js inside the trainer: core ops + the Layers API. Everything in the
 * trainer imports tf from here, so the bundle carries exactly one copy of tfjs-core (backends register
 * their kernels into that copy).
 */
export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
