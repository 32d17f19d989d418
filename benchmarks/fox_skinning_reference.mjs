// Reference vertex positions of Fox.glb skinned by three.js itself (SkinnedMesh +
// AnimationMixer), for tests/pose/fox_threejs_reference.json. Run ONCE, from a directory
// holding the baseline's three.js install (../shared/peer/threejs-turntable after `npm ci`):
//   node benchmarks/fox_skinning_reference.mjs <three-install-dir> tests/assets/Fox.glb > out.json
// Images are stripped before parsing: Node has no image decoder, and skinning needs none.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [threeDir, glbPath] = process.argv.slice(2);
const mod = (p) => import(pathToFileURL(path.join(threeDir, 'node_modules/three', p)).href);
const THREE = await mod('build/three.module.js');
const { GLTFLoader } = await mod('examples/jsm/loaders/GLTFLoader.js');

function stripImages(buf) {
  const jsonLen = buf.readUInt32LE(12);
  const doc = JSON.parse(buf.subarray(20, 20 + jsonLen).toString('utf8'));
  delete doc.images; delete doc.textures; delete doc.samplers;
  for (const m of doc.materials || []) {
    const pbr = m.pbrMetallicRoughness || {};
    delete pbr.baseColorTexture; delete pbr.metallicRoughnessTexture;
    delete m.normalTexture; delete m.occlusionTexture; delete m.emissiveTexture;
  }
  let json = Buffer.from(JSON.stringify(doc), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((4 - (json.length % 4)) % 4, 0x20)]);
  const rest = buf.subarray(20 + jsonLen);
  const header = Buffer.alloc(20);
  header.write('glTF', 0); header.writeUInt32LE(2, 4);
  header.writeUInt32LE(20 + json.length + rest.length, 8);
  header.writeUInt32LE(json.length, 12); header.writeUInt32LE(0x4e4f534a, 16);
  const out = Buffer.concat([header, json, rest]);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.length);
}

const gltf = await new Promise((resolve, reject) =>
  new GLTFLoader().parse(stripImages(readFileSync(glbPath)), '', resolve, reject));
const scene = gltf.scene;
let mesh = null;
scene.traverse((o) => { if (o.isSkinnedMesh && !mesh) mesh = o; });
const pos = mesh.geometry.attributes.position;
const stride = 9; // every 9th vertex keeps the fixture small
const samples = [];
for (const clip of gltf.animations) {
  for (const frac of [0.0, 0.23, 0.5, 0.81]) {
    const t = clip.duration * frac;
    const mixer = new THREE.AnimationMixer(scene);
    mixer.clipAction(clip).play();
    mixer.setTime(t);
    scene.updateMatrixWorld(true);
    const v = new THREE.Vector3();
    const out = [];
    for (let i = 0; i < pos.count; i += stride) {
      v.fromBufferAttribute(pos, i);
      mesh.applyBoneTransform(i, v);
      v.applyMatrix4(mesh.matrixWorld);
      out.push([+v.x.toFixed(6), +v.y.toFixed(6), +v.z.toFixed(6)]);
    }
    samples.push({ clip: clip.name, time: +t.toFixed(6), positions: out });
    mixer.stopAllAction(); mixer.uncacheRoot(scene);
  }
}
console.log(JSON.stringify({ three: THREE.REVISION, stride, samples }));
