/**
 * `retrieve-edit`: look up the solved training window closest to the text (most same-position
 * tokens, the `nn-tokens` rule) and learn an edit of its e.
 *
 *   ids [B, N] -> nearest reference row r (host-side index; a training window never retrieves itself)
 *   -> tokens of the text, tokens of r, and per position "same token as r" [B*N, w]
 *   -> the transformer body (positions, L bidirectional blocks, attention pooling) [B, Q*w]
 *   ++ a projection of r's standardised e [B, w]
 *   -> head, zero at init: delta [B, d];  e_hat = e_r + delta
 *
 * Solutions of different texts are isolated points (the average of two neighbours' e decodes almost
 * nothing), so the edit starts from a real solution rather than from a blend: a fresh encoder is
 * exactly the nn-tokens baseline, and training moves it only where that lowers the recon loss.
 * The reference set is part of the model: checkpoints carry it (reference.safetensors).
 */
import * as tf from '@tensorflow/tfjs';
import { geluExact } from '../lm/layers.js';
import { PrototokenError } from '../util/errors.js';
import { type Dense, dense, denseParams } from './blocks.js';
import type { EncoderContext } from './context.js';
import { type OutputHead, headParams, outputHead } from './head.js';
import { ParamStore } from './params.js';
import { TokenIndex } from './token_index.js';
import { type TransformerBody, type TransformerEncoderOptions, TRANSFORMER_DEFAULTS, ZeroMasks, bodyParams, checkLength, embedTokens, runBody } from './transformer.js';
import type { ProtoEncoder, ReferenceSet } from './types.js';

/** The transformer's options (for the edit network) and nothing else: retrieval has no knobs yet. */
export type RetrieveEditEncoderOptions = TransformerEncoderOptions;

export const RETRIEVE_EDIT_DEFAULTS: RetrieveEditEncoderOptions = { ...TRANSFORMER_DEFAULTS };

interface EditWeights {
  /** The neighbour's tokens, projected like the text's own. */
  neighbourProj: Dense; // [d_lm, w]
  /** Two rows: position differs from / equals the neighbour. */
  same: tf.Variable; // [2, w]
  /** The neighbour's standardised e. */
  eProj: Dense; // [d, w]
}

export class RetrieveEditEncoder implements ProtoEncoder {
  readonly kind = 'retrieve-edit' as const;
  readonly dModel: number;
  readonly maxLength: number;
  private readonly store: ParamStore;
  private readonly body: TransformerBody;
  private readonly edit: EditWeights;
  private readonly head: OutputHead;
  private readonly masks = new ZeroMasks();
  private readonly reference: ReferenceSet;
  private readonly rowOf: Map<string, number>;
  private readonly indexes = new Map<number, TokenIndex>();
  /** The reference e and its standardised copy, on the backend: [rows, d]. */
  private readonly refE: tf.Tensor2D;
  private readonly refZ: tf.Tensor2D;

  constructor(ctx: EncoderContext, readonly options: RetrieveEditEncoderOptions) {
    const o = options;
    const d = (this.dModel = ctx.lm.config.hiddenSize);
    this.maxLength = o.maxLength;
    const ref = ctx.reference;
    if (!ref || ref.textIds.length === 0) {
      throw new PrototokenError('the retrieve-edit encoder needs solved training windows to retrieve from', {
        fix: 'pass --dataset with windows solved with the encoder\'s m (prototoken solve --m M --window N), or use --encoder transformer',
      });
    }
    if (ref.d !== d) throw new PrototokenError(`the reference windows have d=${ref.d} but the model has d=${d}`, { fix: 'use windows solved with this model' });
    this.reference = ref;
    this.rowOf = new Map(ref.textIds.map((id, r) => [id, r]));
    const p = (this.store = new ParamStore(o.seed));
    this.body = bodyParams(p, ctx, o);
    this.edit = {
      neighbourProj: denseParams(p, 'edit.neighbour_proj', d, o.width),
      same: p.normal('edit.same', [2, o.width], 0.02),
      eProj: denseParams(p, 'edit.e_proj', d, o.width),
    };
    // The edit starts at zero (headParams zero-initialises the projection) and moves in units of the e spread.
    this.head = headParams(p, (o.poolQueries + 1) * o.width, { ...ctx.stats, mean: new Float32Array(d) });
    const { mean, std } = ctx.stats;
    // keep: an encoder may be built inside a caller's tidy (it owns these until dispose()).
    this.refE = tf.keep(tf.tensor2d(ref.e, [ref.textIds.length, d]));
    this.refZ = tf.keep(tf.tidy(() => tf.div(tf.sub(this.refE, tf.tensor1d(mean)), tf.tensor1d(std)) as tf.Tensor2D));
  }

  get variables(): ReadonlyMap<string, tf.Variable> {
    return this.store.variables;
  }

  apply(ids: tf.Tensor2D, _training = false, textIds?: readonly string[]): tf.Tensor2D {
    const [B, N] = ids.shape;
    checkLength(N, this.maxLength);
    const mask = this.masks.get(N);
    const { rows, neighbourIds, same } = this.retrieve(ids.dataSync() as Int32Array, B, N, textIds);
    return tf.tidy(() => {
      const rowsT = tf.tensor1d(rows, 'int32');
      const nbIds = tf.tensor2d(neighbourIds, [B, N], 'int32');
      const nbTok = tf.gather(this.body.tokens, tf.reshape(nbIds, [B * N])) as tf.Tensor2D; // [B*N, d_lm]
      const sameRows = tf.gather(this.edit.same, tf.tensor1d(same, 'int32')) as tf.Tensor2D; // [B*N, w]
      const x = tf.add(tf.add(embedTokens(ids, this.body), dense(nbTok, this.edit.neighbourProj)), sameRows) as tf.Tensor2D; // [B*N, w]
      const pooled = runBody(x, this.body, B, N, this.options.heads, mask); // [B, Q*w]
      const eFeat = geluExact(dense(tf.gather(this.refZ, rowsT) as tf.Tensor2D, this.edit.eProj)) as tf.Tensor2D; // [B, w]
      const delta = outputHead(tf.concat([pooled, eFeat], 1), this.head); // [B, d]
      return tf.add(tf.gather(this.refE, rowsT), delta) as tf.Tensor2D; // [B, d]
    });
  }

  /** Host-side lookup: the neighbour row of each text, its tokens, and which positions agree. */
  private retrieve(ids: Int32Array, B: number, N: number, textIds?: readonly string[]): { rows: Int32Array; neighbourIds: Int32Array; same: Int32Array } {
    let index = this.indexes.get(N);
    if (!index) this.indexes.set(N, (index = new TokenIndex(this.reference.ids, this.reference.N, N)));
    const exclude = textIds ? Int32Array.from(textIds, (id) => this.rowOf.get(id) ?? -1) : undefined;
    const { rows } = index.nearest(ids, N, exclude);
    const R = this.reference.N;
    const neighbourIds = new Int32Array(B * N);
    const same = new Int32Array(B * N);
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < N; p++) {
        // A query longer than the reference windows has no neighbour token past R: use its own (counted as "differs").
        const t = p < R ? this.reference.ids[rows[b] * R + p] : ids[b * N + p];
        neighbourIds[b * N + p] = t;
        same[b * N + p] = p < R && t === ids[b * N + p] ? 1 : 0;
      }
    }
    return { rows, neighbourIds, same };
  }

  dispose(): void {
    this.store.dispose();
    this.masks.dispose();
    tf.dispose([this.refE, this.refZ]);
  }
}
