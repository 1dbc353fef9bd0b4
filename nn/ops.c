/* The op table: every operator's name (as ONNX spells it), input count, and its shape /
 * forward / backward functions, which live in one file per family. */
#include "nn/graph.h"

#define OP(fam, onnx, lo, hi) {onnx, lo, hi, fam##_shape, fam##_forward, fam##_backward}

const es_op es_ops[ES_OP_COUNT] = {
    [ES_OP_CONV] = OP(conv, "Conv", 2, 3),
    [ES_OP_GEMM] = OP(gemm, "Gemm", 2, 3),
    [ES_OP_MATMUL] = OP(matmul, "MatMul", 2, 2),
    [ES_OP_BATCHNORM] = OP(batchnorm, "BatchNormalization", 5, 5),
    [ES_OP_RELU] = OP(relu, "Relu", 1, 1),
    [ES_OP_LEAKYRELU] = OP(leakyrelu, "LeakyRelu", 1, 1),
    [ES_OP_SIGMOID] = OP(sigmoid, "Sigmoid", 1, 1),
    [ES_OP_SOFTMAX] = OP(softmax, "Softmax", 1, 1),
    [ES_OP_LOGSOFTMAX] = OP(logsoftmax, "LogSoftmax", 1, 1),
    [ES_OP_MAXPOOL] = OP(maxpool, "MaxPool", 1, 1),
    [ES_OP_AVGPOOL] = OP(avgpool, "AveragePool", 1, 1),
    [ES_OP_GAP] = OP(gap, "GlobalAveragePool", 1, 1),
    [ES_OP_PAD] = OP(pad, "Pad", 1, 1),
    [ES_OP_CONCAT] = OP(concat, "Concat", 1, 1 << 20),
    [ES_OP_ADD] = OP(add, "Add", 2, 2),
    [ES_OP_SUB] = OP(sub, "Sub", 2, 2),
    [ES_OP_MUL] = OP(mul, "Mul", 2, 2),
    [ES_OP_DIV] = OP(div, "Div", 2, 2),
    [ES_OP_DROPOUT] = OP(dropout, "Dropout", 1, 1),
    [ES_OP_FLATTEN] = OP(flatten, "Flatten", 1, 1),
    [ES_OP_RESHAPE] = OP(reshape, "Reshape", 1, 1),
    [ES_OP_IDENTITY] = OP(identity, "Identity", 1, 1),
    [ES_OP_TRANSPOSE] = OP(transpose, "Transpose", 1, 1),
    [ES_OP_SQUEEZE] = OP(squeeze, "Squeeze", 1, 1),
    [ES_OP_UNSQUEEZE] = OP(unsqueeze, "Unsqueeze", 1, 1),
};
