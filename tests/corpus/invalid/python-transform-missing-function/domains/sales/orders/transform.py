def transform(inputs):
    return inputs['raw']
