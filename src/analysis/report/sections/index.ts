/** The report's sections, in page order. */
import { arrangementsSection } from './arrangements.js';
import { capacitySection } from './capacity.js';
import { datasetsSection } from './datasets.js';
import { distancesSection } from './distances.js';
import { encoderEvalSection } from './encoder.js';
import { interpolateSection } from './interpolate.js';
import type { Section } from './section.js';
import { sharingSection } from './sharing.js';
import { trainingSection } from './training.js';

export type { Section, SectionContext } from './section.js';

export const SECTIONS: readonly Section[] = [
  capacitySection,
  datasetsSection,
  arrangementsSection,
  sharingSection,
  interpolateSection,
  distancesSection,
  encoderEvalSection,
  trainingSection,
];
