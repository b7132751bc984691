run
bt 4
frame 0
info locals
p *frame_ptr
