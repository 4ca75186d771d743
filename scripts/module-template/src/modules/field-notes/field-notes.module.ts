import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { FieldNote } from './field-note.entity.js';
import { FieldNotesController } from './field-notes.controller.js';
import { FieldNotesRepository } from './field-notes.repository.js';
import { FieldNotesService } from './field-notes.service.js';

@Module({
  imports: [TypeOrmModule.forFeature([FieldNote])],
  controllers: [FieldNotesController],
  providers: [FieldNotesRepository, FieldNotesService],
  exports: [FieldNotesService],
})
export class FieldNotesModule {}
