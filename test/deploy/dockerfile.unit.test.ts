// deploy/Dockerfile, read without building it: several stages, the patches in place before every
// install, an image that runs the compiled JavaScript as a user other than root, and a health
// check on a path rtws serves.
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dockerfileStages, readDeploy, repoPath, serves } from './deploy-files.ts';

const stages = dockerfileStages(readDeploy('Dockerfile'));
const image = stages.at(-1)!;
const instruction = (name: string) =>
  image.instructions.filter((i) => i.toUpperCase().startsWith(`${name} `));

test('the image is built in several named stages, and takes the build from them', () => {
  assert.ok(stages.length >= 2, `${stages.length} stages`);
  const named = stages.slice(0, -1).map((s) => s.name);
  assert.not.ok(named.includes(undefined), 'every stage before the image is named');
  for (const name of named)
    assert.ok(
      image.instructions.some((i) => i.startsWith(`COPY --from=${name} `)),
      `the image copies from stage ${name}`,
    );
});

test('the image runs as a user other than root', () => {
  const users = instruction('USER');
  assert.ok(users.length > 0, 'the image sets USER');
  const user = users.at(-1)!.split(/\s+/)[1]!;
  assert.not.ok(['root', '0', '0:0'].includes(user), `USER ${user}`);
});

test('every install applies deploy/patches: they are copied in before npm ci', () => {
  for (const stage of stages) {
    const install = stage.instructions.findIndex((i) => /^RUN .*npm ci/.test(i));
    if (install < 0) continue;
    const patches = stage.instructions.findIndex((i) => i.startsWith('COPY deploy/patches'));
    assert.ok(patches >= 0 && patches < install, `stage ${stage.name}: patches before npm ci`);
  }
  assert.ok(existsSync(repoPath('deploy/patches')));
});

test('the build compiles with tsc, and the image runs the JavaScript with node alone', () => {
  assert.ok(
    stages.some((s) =>
      s.instructions.some((i) => /^RUN npx tsc -p deploy\/tsconfig\.build\.json/.test(i)),
    ),
    'a stage compiles with deploy/tsconfig.build.json',
  );
  assert.ok(existsSync(repoPath('deploy/tsconfig.build.json')));
  const cmd = JSON.parse(instruction('CMD').at(-1)!.slice(4)) as string[];
  assert.equal(cmd, ['node', 'dist/deploy/main.js']);
  assert.ok(
    existsSync(repoPath('deploy/main.ts')),
    'dist/deploy/main.js is built from deploy/main.ts',
  );
  assert.not.match(image.instructions.join('\n'), /tsx/, 'nothing in the image runs through tsx');
  assert.ok(
    image.instructions.includes('COPY sql dist/sql'),
    'the migrations sit beside the build',
  );
  assert.ok(
    image.instructions.includes('COPY adapters/http/console dist/adapters/http/console'),
    "the console's files sit beside the build",
  );
});

test('the image health check asks a path the server serves', async () => {
  const check = instruction('HEALTHCHECK').at(-1)!;
  const cmd = JSON.parse(check.slice(check.indexOf('CMD ') + 4)) as string[];
  assert.equal(cmd.slice(0, 2), ['node', 'dist/deploy/healthcheck.js']);
  assert.ok(await serves('api', cmd[2]!), `${cmd[2]} is served`);
  assert.ok(await serves('probes', cmd[2]!), `${cmd[2]} is served without the api role too`);
});

test('a container never starts private servers', () => {
  assert.match(instruction('ENV').join(' '), /RTWS_EMBEDDED=off/);
});

test.run();
