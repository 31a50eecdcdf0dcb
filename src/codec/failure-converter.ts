// With the codec on, a failure's message and stack trace move into its encoded attributes (a payload,
// so encrypted): error messages name hosts and paths. Loaded by path (DataConverter.failureConverterPath)
// because the workflow sandbox needs it too; the encrypted workflow bundle is built with it.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
