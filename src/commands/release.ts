// Which release of a compose service runs on a host: its running containers, each with the folder
// compose ran in (com.docker.compose.project.working_dir, set by v1 and v2) and its image.
import { change, probe } from './types';

export const runningReleases = (service: string) =>
  probe(
    ['docker', 'ps', '--no-trunc', '--filter', `label=com.docker.compose.service=${service}`, '--format', '{{.Label "com.docker.compose.project.working_dir"}}|{{.Image}}'],
    `list the running ${service} containers and their package folders`,
    { sudo: true },
  );

/** An undone first upgrade: no previous release any more. */
export const removeRecord = (path: string) => change(['rm', '-f', path], `remove ${path}`);
